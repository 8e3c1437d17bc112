"""Property-based: whatever bytes reach any TISS endpoint, the answer is a TISS answer or a TISS
fault (never a traceback or a bare HTTP error), and the database never holds anything half-way:
every stored lot has its protocol, its guides and the accepted message that created it."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select

from gateway.tiss.hashing import message_hash
from gateway.tiss.namespaces import q
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import envelope, post, sample_lot

SERVICES = [
    "tissLoteGuias",
    "tissSolicitacaoStatusProtocolo",
    "tissVerificaElegibilidade",
    "tissSolicitacaoDemonstrativoRetorno",
]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_consistent(gw) -> None:
    with gw.db.reading() as s:
        lots = s.scalars(select(models.Lot)).all()
        for lot in lots:
            protocol = s.scalar(select(models.Protocol).where(models.Protocol.lot_id == lot.id))
            assert protocol is not None and protocol.numero
            assert len(lot.guides) == lot.guide_count
            accepted = s.scalar(
                select(func.count())
                .select_from(models.Message)
                .where(
                    models.Message.protocol_id == protocol.id, models.Message.outcome == "accepted"
                )
            )
            assert accepted == 1
        orphans = s.scalar(
            select(func.count())
            .select_from(models.Message)
            .where(
                models.Message.outcome == "accepted",
                models.Message.protocol_id.is_(None),
                models.Message.service == "tissLoteGuias",
            )
        )
        assert orphans == 0


def valid_lot_bytes(numero: str) -> bytes:
    return envelope(lote_guias_ws(sample_lot(PROVIDER_A, numero, 2, registro_ans=REGISTRO_ANS)))


@FUZZ
@given(data=st.binary(max_size=4096), service=st.sampled_from(SERVICES))
def test_arbitrary_bytes_always_get_a_tiss_answer(client, gw, data, service):
    answer = post(client, None, raw=data, service=service)  # read_answer asserts the shape
    assert answer.is_fault
    assert_consistent(gw)


@st.composite
def mutations(draw):
    """A valid lot envelope with a few byte-level mutations."""
    data = bytearray(valid_lot_bytes(str(draw(st.integers(1, 10**9)))))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "delete", "duplicate", "insert"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        if not data:
            data = bytearray(b"<")
    return bytes(data)


@FUZZ
@given(data=mutations(), service=st.sampled_from(SERVICES))
def test_mutated_messages_always_get_a_tiss_answer(client, gw, data, service):
    post(client, None, raw=data, service=service)
    assert_consistent(gw)


@FUZZ
@given(
    seed=st.integers(0, 2**32),
    text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
def test_any_leaf_text_rehashed_gets_a_tiss_answer(client, gw, seed, text):
    """Structure kept, one field replaced by arbitrary text and the hash recomputed (so only the
    schema and business rules can refuse it): accepted or refused, never half-stored."""
    message = lote_guias_ws(
        sample_lot(PROVIDER_A, str(seed % 10**12), 1, registro_ans=REGISTRO_ANS)
    )
    leaves = [el for el in message.iter(etree.Element) if len(el) == 0 and el.tag != q("hash")]
    target = random.Random(seed).choice(leaves)
    target.text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    message.find(q("hash")).text = message_hash(message) if _latin1(message) else "0" * 32
    answer = post(client, message, encoding="UTF-8")
    assert answer.is_fault or answer.payload is not None
    assert_consistent(gw)


def _latin1(message) -> bool:
    try:
        etree.tostring(message, method="text", encoding="unicode").encode("iso-8859-1")
        return True
    except UnicodeEncodeError:
        return False
