"""Hostile input at every TISS endpoint: each is answered by a TISS fault within bounded time and
memory, the bytes are archived as received, and nothing else is stored."""

import time
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from gateway.tiss.namespaces import SOAP11_ENV, q
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
MAX_SECONDS = 3.0
MAX_RSS_GROWTH = 64 * 1024 * 1024


def rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def soap(inner: bytes, prolog: bytes = b'<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (
        prolog + b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soapenv:Body>" + inner + b"</soapenv:Body></soapenv:Envelope>"
    )


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body><x>&lol9;</x></soapenv:Body></soapenv:Envelope>"
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + b"A" * 50_000 + b'">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body><x>" + b"&a;" * 50_000 + b"</x></soapenv:Body></soapenv:Envelope>"
)

HOSTILE = {
    "xxe_file": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    + soap(b"<x>&e;</x>", b""),
    "xxe_network": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
    b'"http://127.0.0.1:9/secret">]>' + soap(b"<x>&e;</x>", b""),
    "external_dtd": b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">'
    + soap(b"<x/>", b""),
    "billion_laughs": BILLION_LAUGHS,
    "quadratic_blowup": QUADRATIC,
    "deep_nesting": soap(b"<a>" * 5000 + b"</a>" * 5000),
    "huge_text_node": soap(b"<x>" + b"A" * (11 * 1024 * 1024) + b"</x>"),
    "lying_encoding": b'<?xml version="1.0" encoding="UTF-8"?>'
    + soap(b"<x>\xe9\xe7\xe3o</x>", b""),
    "not_xml": b"\x00\x01\x02 GET / HTTP/1.1 \xff\xfe",
    "empty": b"",
    "soap12_envelope": b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
    b"<env:Body><x/></env:Body></env:Envelope>",
    "no_body": b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Header/></soapenv:Envelope>",
    "two_body_elements": soap(b"<a/><b/>"),
    "unknown_body_element": soap(b'<evil xmlns="urn:evil"><x/></evil>'),
    "utf16_without_declaration": "<a>ção</a>".encode("utf-16"),
}


def stored(gw, model) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


# Every case at tissLoteGuias, and each case once more at one of the other services in turn.
CASES = [(case, "tissLoteGuias") for case in sorted(HOSTILE)] + [
    (case, SERVICES[1 + i % 3]) for i, case in enumerate(sorted(HOSTILE))
]


@pytest.mark.parametrize("case,service", CASES)
def test_hostile_bytes_get_a_tiss_fault_quickly(client, gw, service, case):
    before_rss = rss()
    started = time.monotonic()
    answer = post(client, None, raw=HOSTILE[case], service=service)
    elapsed = time.monotonic() - started
    assert answer.is_fault
    assert answer.tiss_fault in ("SchemaInvalido", "VersaoInvalida")
    assert "Traceback" not in answer.faultstring and "/etc/passwd" not in answer.faultstring
    assert b"root:x:" not in answer.raw
    assert elapsed < MAX_SECONDS, f"{case} took {elapsed:.2f}s"
    assert rss() - before_rss < MAX_RSS_GROWTH
    assert stored(gw, models.Lot) == 0
    with gw.db.reading() as s:
        message = s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()
    assert message.outcome == "rejected" and message.service == service
    assert message.raw_request == HOSTILE[case]


def test_body_above_the_size_limit_is_refused_before_it_is_read(client, gw):
    body = soap(b"<x>" + b"A" * (21 * 1024 * 1024) + b"</x>")
    started = time.monotonic()
    answer = post(client, None, raw=body)
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5002"
    assert "limite" in answer.faultstring
    assert time.monotonic() - started < MAX_SECONDS


def test_valid_lot_posted_to_every_other_service_is_refused(client, gw):
    lot = lote_guias_ws(sample_lot(PROVIDER_A, "X1", registro_ans=REGISTRO_ANS))
    for service in SERVICES[1:]:
        answer = post(client, lot, service=service)
        assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"
    assert stored(gw, models.Lot) == 0


def test_padrao_of_one_version_with_content_of_another(client, gw):
    # A 4.03.00-only construct (an alphanumeric CNPJ) in a message that says 4.02.00: the 4.02.00
    # schema is the one applied, so it is a schema error, not a silently accepted message.
    lot = sample_lot(PROVIDER_A, "X2", registro_ans=REGISTRO_ANS, version="4.02.00")
    message = lote_guias_ws(lot)
    message.find(".//{*}origem//{*}CNPJ").text = "12ABC34501DE35"
    from gateway.tiss.hashing import message_hash

    message.find(q("hash")).text = message_hash(message)
    answer = post(client, message, version="4.02.00")
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"


def test_answer_to_a_wrong_envelope_namespace_is_still_soap11(client, gw):
    raw = b'<Envelope xmlns="urn:not-soap"><Body><x/></Body></Envelope>'
    answer = post(client, None, raw=raw)
    assert answer.tiss_fault == "SchemaInvalido"
    assert etree.fromstring(answer.raw).tag == f"{{{SOAP11_ENV}}}Envelope"


def test_envelope_helper_round_trip():
    assert b"Envelope" in envelope(None)
