"""Upgrading a database that already holds an operator's data, as a rolling upgrade does
(deploy/README.md, "Upgrades"): built at revision 0010, filled through the product's own use
cases (lots over SOAP, the analysis, a payment, a typed protocol sent from the portal, the
access log) and with rows only older code wrote (card numbers with separators, a record whose
answer was not written yet), then upgraded to head. Every row and byte must still be there, the
schema must be what the models declare, 0012's triggers must guard the archive, and the gateway
must go on serving what it stored before, and so must the version before 0012 (its own code, from
the repository's history) while the hosts are upgraded one by one. Then down to 0011 and 0010
and up again.

tests/test_storage_migrations.py runs the same migrations on empty databases."""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from lxml import etree
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.test import Client

from gateway.app import build_app
from gateway.services import typed_guides
from gateway.services.accounts import access_log
from gateway.services.accounts.access_log import Origin
from gateway.services.admin import add_provider, set_operator
from gateway.services.backoffice.analysis import (
    GlosaInput,
    GuideAnalysis,
    ItemAnalysis,
    record_analysis,
)
from gateway.services.backoffice.beneficiaries import load_beneficiaries, read_beneficiaries_csv
from gateway.services.backoffice.payments import (
    Adjustment,
    PaymentInput,
    ProtocolPayment,
    record_payment,
)
from gateway.services.backoffice.protocols import change_status
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.services.gateway import Gateway
from gateway.services.inbound import Principal
from gateway.tiss import samples
from gateway.tiss.samples import (
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from gateway.tiss.schemas import SchemaRegistry
from storage.db import Database
from storage.migrate import alembic_config
from storage.models import Account, Base, Beneficiary, Message
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS, fresh_database, make_settings
from tests.test_soap_queries import query_for
from tests.test_storage_migrations import differences
from tests.tissclient import NS, SoapAnswer, envelope, post, read_answer, sample_lot

STATUS = "tissSolicitacaoStatusProtocolo"
ELEGIBILIDADE = "tissVerificaElegibilidade"
DEMONSTRATIVO = "tissSolicitacaoDemonstrativoRetorno"
ANALISTA = StaffPrincipal(0, "analista.migracao")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# The registry as the code before 0011 stored it: cards kept as typed. "0003-1" and "00031" are
# two rows whose plain numbers clash (the older one, inserted later here, keeps its text).
OLD_CARDS = [
    ("0001 2345 6789 00", "Maria Espaçada", "ativo", None),
    ("0002.2345.6789-00", "João Pontuado", "cancelado", date(2025, 6, 30)),
    ("4444/5555", "Rita Barrada", "suspenso", None),
    ("00031", "Bruno Sem Hífen", "ativo", None),
    ("0003-1", "Ana Com Hífen", "cancelado", date(2025, 1, 31)),
    ("PLAIN9", "Caio Simples", "ativo", None),
    ("7777.8888-99", "Paulo Recarregado", "suspenso", None),
]
CARDS_AFTER_0011 = {
    "0001 2345 6789 00": "00012345678900",
    "0002.2345.6789-00": "00022345678900",
    "4444/5555": "44445555",
    "00031": "00031",
    "0003-1": "0003-1",  # its plain number is another row's: both stay
    "PLAIN9": "PLAIN9",
    "7777.8888-99": "7777888899",
}

TYPED_GUIDE = dict(
    pa.CONSULTA_FORM,
    numero_guia_prestador="DIGMIG0001",
    numero_carteira="0001 2345 6789 00",  # typed with the separators printed on the card
    valor_procedimento="180,00",
)


@dataclass
class Story:
    """What was stored at 0010, and the database as it was before and right after the upgrade."""

    url: str
    kind: str  # sqlite | postgresql
    tmp: Path
    registry: SchemaRegistry
    paid: str = ""  # protocol analysed, released and paid (status 6)
    received: str = ""  # protocol of provider B, still 1
    typed: str = ""  # protocol of the lot typed in the portal and sent
    paid_status_before: SoapAnswer | None = None
    utf8_raw: bytes = b""
    typed_message_id: int = 0
    pending_message_id: int = 0  # a record whose answer was not written yet
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    # The gateway that stored it all, its connections kept open through the upgrade.
    serving: Gateway | None = None

    def gateway(self, **overrides) -> Gateway:
        settings = make_settings(self.url, self.tmp, refuse_presented_guides=True, **overrides)
        return Gateway(settings=settings, db=Database(self.url), schemas=self.registry)


def _provider_id(db: Database, code: str) -> int:
    with db.reading() as session:
        return session.scalar(
            text("SELECT id FROM providers WHERE codigo_na_operadora = :c"), {"c": code}
        )


def _principal(db: Database, provider) -> Principal:
    with db.reading() as session:
        account = session.scalar(select(Account).where(Account.login == provider.cnpj))
        return Principal(account.id, account.provider_id)


def _status(client, provider, numero: str) -> SoapAnswer:
    return post(client, solicitacao_status_ws(query_for(provider), numero), service=STATUS)


def _eligibility(client, card: str) -> SoapAnswer:
    return post(client, pedido_elegibilidade_ws(query_for(PROVIDER_A), card), service=ELEGIBILIDADE)


def _lot(provider, numero: str, count: int, prefix: str, **kw):
    return lote_guias_ws(
        sample_lot(
            provider,
            numero,
            registro_ans=REGISTRO_ANS,
            guides=samples.guides(count, prefix=prefix),
            **kw,
        )
    )


def _fill(story: Story) -> None:
    """The operator's data at 0010, written by the product where it still writes it so."""
    gw = story.gateway()
    db = gw.db
    client = Client(build_app(gw))
    set_operator(db, REGISTRO_ANS, "Operadora Migração", "34028316000103")
    for p in (PROVIDER_A, PROVIDER_B):
        add_provider(db, cnpj=p.cnpj, code=p.code, name=p.name, password=p.password)

    # The registry as imported before 0011: cards with their separators.
    with db.transaction() as session:
        for card, name, status, left_on in OLD_CARDS:
            session.execute(
                insert(Beneficiary).values(
                    numero_carteira=card,
                    name=name,
                    plan="Enfermaria",
                    status=status,
                    joined_on=date(2019, 3, 1),
                    left_on=left_on,
                    card_valid_until=date(2030, 12, 31),
                    updated_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
                )
            )
    upsert_beneficiaries(
        db,
        [BeneficiaryData("8000000000001", "Lúcia Nova", "Ouro", "ativo", date(2024, 1, 1))],
    )

    # Lots: SP/SADT of provider A (analysed, released, paid), a resend of it, provider B's
    # lot in UTF-8, a lot with a wrong hash and one with a wrong password.
    paid = post(client, _lot(PROVIDER_A, "MIGSADT1", 3, "S", guide_type="guiaSP-SADT"))
    story.paid = paid.protocol
    resend = post(client, _lot(PROVIDER_A, "MIGSADT1", 3, "S", guide_type="guiaSP-SADT"))
    assert resend.protocol == story.paid
    utf8_lot = envelope(_lot(PROVIDER_B, "MIGB1", 2, "B"), "UTF-8")
    story.utf8_raw = utf8_lot
    received = post(client, None, raw=utf8_lot, encoding="UTF-8")
    story.received = received.protocol
    assert story.paid and story.received and story.paid != story.received
    wrong_hash = lote_guias_ws(
        sample_lot(
            PROVIDER_A, "MIGHASH", registro_ans=REGISTRO_ANS, guides=samples.guides(1, prefix="H")
        ),
        hash_value="0" * 32,
    )
    assert post(client, wrong_hash).code == "5014"
    wrong_password = _lot(PROVIDER_A, "MIGPWD", 1, "W", senha_md5="0" * 32)
    assert post(client, wrong_password).is_fault

    change_status(db, ANALISTA, story.paid, 2, "conferência")
    record_analysis(
        db,
        ANALISTA,
        story.paid,
        [
            GuideAnalysis(
                "S000001",
                glosas=[
                    GlosaInput("1705", Decimal("30.00"), "Guia sem assinatura do beneficiário")
                ],
                items=(ItemAnalysis(1, glosas=[GlosaInput("1801", Decimal("20.00"))]),),
            )
        ],
        glosa_tables=gw.glosa_tables(),
    )
    change_status(db, ANALISTA, story.paid, 3, "liberado")
    record_payment(
        db,
        ANALISTA,
        PaymentInput(
            provider_code=PROVIDER_A.code,
            data_pagamento=date(2026, 11, 30),
            competencia="202611",
            forma_pagamento="1",
            protocols=[ProtocolPayment(story.paid)],
            adjustments=[Adjustment("1", "02", "ISS", Decimal("12.50"))],
            banco="341",
            agencia="1234",
            conta="99887",
        ),
    )
    story.paid_status_before = _status(client, PROVIDER_A, story.paid)
    assert story.paid_status_before.text(".//ans:statusProtocolo") == "6"
    assert _eligibility(client, "0001 2345 6789 00").text(".//ans:respostaSolicitacao") == "S"

    # Digitação de Guias: one protocol typed and sent (typed_protocols -> messages), one open.
    principal = _principal(db, PROVIDER_A)
    now = gw.utcnow()
    typed_id, _ = typed_guides.open_protocol(db, principal, "guiaConsulta", now)
    typed_guides.save_guide(gw, principal, typed_id, TYPED_GUIDE, now)
    typed_guides.finish(db, principal.provider_id, typed_id, now)
    result = typed_guides.send(gw, principal, typed_id, remote_addr="10.0.0.7")
    assert result.accepted, result
    story.typed = result.protocol
    story.typed_message_id = result.answer.message_id
    open_id, _ = typed_guides.open_protocol(db, principal, "guiaConsulta", now)
    typed_guides.save_guide(
        gw, principal, open_id, dict(TYPED_GUIDE, numero_guia_prestador="DIGMIG0002"), now
    )

    # The access log: the web-service failure above, a portal login, one 100 days old.
    with db.transaction() as session:
        access_log.record(
            session,
            "login_ok",
            now,
            Origin("203.0.113.9", "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0"),
            account_id=principal.account_id,
        )
        access_log.record(
            session,
            "login_failed",
            now - timedelta(days=100),
            Origin("198.51.100.4"),
            login="11222333000181",
            detail="senha incorreta",
        )
        # A record an older SQLite host had inserted for its id when the upgrade began: its
        # answer is written after, by an UPDATE from NULL.
        story.pending_message_id = session.execute(
            insert(Message)
            .values(
                request_id=uuid.uuid4().hex,
                received_at=now,
                channel="soap",
                service=STATUS,
                endpoint_version="4.03.00",
                remote_addr="10.0.0.8",
                raw_request=b"<?xml version='1.0'?><pendente/>",
                request_size=32,
                request_sha256=hashlib.sha256(b"<?xml version='1.0'?><pendente/>").hexdigest(),
                outcome="accepted",
                provider_id=_provider_id(db, PROVIDER_A.code),
            )
            .returning(Message.id)
        ).scalar_one()
    story.serving = gw


def snapshot(url: str) -> dict[str, list[dict]]:
    """Every row of every table, as the driver returns it (no model types in between)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            rows = {}
            for table in Base.metadata.sorted_tables:
                if table.name not in present:
                    continue
                order = ", ".join(c.name for c in table.primary_key.columns)
                result = conn.execute(text(f"SELECT * FROM {table.name} ORDER BY {order}"))
                rows[table.name] = [dict(r._mapping) for r in result]
            return rows
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def story(database_url, registry, tmp_path_factory):
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    tmp = tmp_path_factory.mktemp(f"migration-data-{kind}")
    with fresh_database(kind, tmp) as url:
        config = alembic_config(url)
        command.upgrade(config, "0010")
        story = Story(url=url, kind=kind, tmp=tmp, registry=registry)
        _fill(story)
        story.before = snapshot(url)
        command.upgrade(config, "head")
        story.after = snapshot(url)
        try:
            yield story
        finally:
            story.serving.db.dispose()


FILLED = {
    "operators",
    "providers",
    "accounts",
    "beneficiaries",
    "lots",
    "guides",
    "guide_items",
    "glosas",
    "protocols",
    "protocol_status_history",
    "payments",
    "payment_lines",
    "payment_adjustments",
    "messages",
    "access_log",
    "typed_protocols",
    "typed_guides",
}


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {row["id"]: row for row in rows}


def test_every_row_and_byte_is_still_there_after_the_upgrade(story):
    assert FILLED <= {name for name, rows in story.before.items() if rows}
    assert set(story.after) == set(story.before)
    for name, rows in story.before.items():
        if name != "beneficiaries":
            assert story.after[name] == rows, name
    messages = by_id(story.after["messages"])
    # The archive as received: the UTF-8 lot byte for byte, every answer but the pending one.
    assert [m["raw_request"] for m in messages.values()].count(story.utf8_raw) == 1
    assert [m["id"] for m in messages.values() if m["raw_response"] is None] == [
        story.pending_message_id
    ]
    for m in messages.values():
        assert bytes(m["raw_request"]) and m["request_size"] == len(m["raw_request"])
        assert m["request_sha256"] == hashlib.sha256(m["raw_request"]).hexdigest()


def test_card_numbers_stored_with_separators_are_rewritten_and_nothing_else(story):
    before, after = by_id(story.before["beneficiaries"]), by_id(story.after["beneficiaries"])
    assert before.keys() == after.keys()
    cards = {before[i]["numero_carteira"]: after[i]["numero_carteira"] for i in before}
    assert cards == {**CARDS_AFTER_0011, "8000000000001": "8000000000001"}
    for i in before:
        assert {**before[i], "numero_carteira": None} == {**after[i], "numero_carteira": None}


def test_the_upgraded_schema_is_what_the_models_declare_with_every_reference_intact(story):
    assert differences(story.url) == []
    messages = {m["id"] for m in story.after["messages"]}
    sent = [t for t in story.after["typed_protocols"] if t["message_id"] is not None]
    assert [t["message_id"] for t in sent] == [story.typed_message_id]
    assert story.typed_message_id in messages
    engine = create_engine(story.url)
    try:
        with engine.connect() as conn:
            references = [
                (fk["referred_table"], fk["constrained_columns"])
                for fk in inspect(conn).get_foreign_keys("typed_protocols")
            ]
            assert ("messages", ["message_id"]) in references
            if story.kind == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            else:
                # Every foreign key of the database is enforced, none left NOT VALID.
                assert not conn.execute(
                    text(
                        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
                    )
                ).all()
                # 0010's lz4 for the archive's bytes survives 0012's change of the table.
                assert archive_compression(conn) == {"raw_request": "l", "raw_response": "l"}
    finally:
        engine.dispose()


def archive_compression(conn) -> dict[str, str]:
    """PostgreSQL: the compression method of the archive's byte columns ('l' is lz4)."""
    rows = conn.execute(
        text(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'messages'::regclass"
            " AND attname IN ('raw_request', 'raw_response')"
        )
    )
    return dict(rows.all())


def triggers(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            else:
                query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            return set(conn.execute(text(query)).scalars())
    finally:
        engine.dispose()


def attempt(url: str, statement: str, **params) -> str | None:
    """Run one UPDATE and roll it back: None when the database took it, else its error text.
    Through a plain engine, as a script or a psql session would."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                conn.execute(text(statement), params)
            except DBAPIError as exc:
                return str(exc.orig)
            finally:
                transaction.rollback()
        return None
    finally:
        engine.dispose()


IMMUTABLE = "messages_request_immutable", "access_log_immutable"
FORGED = {
    "request_id": "forjado",
    "received_at": datetime(2020, 1, 1, tzinfo=UTC),
    "raw_request": b"<forjado/>",
    "request_size": 10,
    "request_sha256": hashlib.sha256(b"<forjado/>").hexdigest(),
}


@pytest.mark.parametrize("column", list(FORGED))
def test_a_request_archived_before_the_upgrade_cannot_be_rewritten(story, column):
    error = attempt(
        story.url,
        f"UPDATE messages SET {column} = :value WHERE id = :id",
        value=FORGED[column],
        id=story.typed_message_id,
    )
    assert error is not None and "an archived request cannot be changed" in error


def test_the_access_log_of_before_the_upgrade_cannot_be_rewritten(story):
    error = attempt(
        story.url, "UPDATE access_log SET event = 'login_ok', remote_addr = '127.0.0.1'"
    )
    assert error is not None and "access_log is append-only" in error
    assert triggers(story.url) >= set(IMMUTABLE)


def test_an_answer_still_goes_into_a_record_written_before_the_upgrade(story):
    """The code before 0012 keeps serving during the rollout: on SQLite it inserts a record and
    then UPDATEs its answer from NULL, and after a failure it rewrites the whole record with the
    same request values. Both must pass the triggers."""
    answer = b"<?xml version='1.0' encoding='ISO-8859-1'?><resposta/>"
    assert (
        attempt(
            story.url,
            "UPDATE messages SET raw_response = :answer, response_charset = 'ISO-8859-1', "
            "codes = '5001' WHERE id = :id AND raw_response IS NULL",
            answer=answer,
            id=story.pending_message_id,
        )
        is None
    )
    assert (
        attempt(
            story.url,
            "UPDATE messages SET request_id = request_id, received_at = received_at, "
            "raw_request = raw_request, request_size = request_size, "
            "request_sha256 = request_sha256, outcome = 'error' WHERE id = :id",
            id=story.typed_message_id,
        )
        is None
    )


def test_the_daily_prune_still_deletes_old_access_log_entries(story):
    gw = story.gateway()
    try:
        (old,) = [e["id"] for e in story.after["access_log"] if e["event"] == "login_failed"]
        assert access_log.prune(gw.db, datetime.now(UTC)).access_log == 1
        left = {e["id"] for e in snapshot(story.url)["access_log"]}
        assert old not in left
        assert {e["id"] for e in story.after["access_log"]} - {old} <= left
    finally:
        gw.db.dispose()


def body(answer: SoapAnswer) -> list[bytes]:
    """An answer without its header and hash: what it says about the protocol."""
    return [
        etree.tostring(el, method="c14n")
        for el in answer.payload
        if etree.QName(el).localname not in ("cabecalho", "hash")
    ]


def test_the_upgraded_gateway_answers_for_protocols_stored_before_and_takes_new_lots(story):
    gw = story.gateway()
    client = Client(build_app(gw))
    try:
        # The paid protocol reads as it did before the upgrade, to the glosas and values.
        paid = _status(client, PROVIDER_A, story.paid)
        assert body(paid) == body(story.paid_status_before)
        assert paid.text(".//ans:statusProtocolo") == "6"
        assert paid.text(".//ans:valorTotalLote/ans:valorProcessado") == "450.00"
        assert paid.text(".//ans:valorTotalLote/ans:valorLiberado") == "400.00"
        assert paid.text(".//ans:valorTotalLote/ans:valorGlosa") == "50.00"
        assert _status(client, PROVIDER_B, story.received).text(".//ans:statusProtocolo") == "1"
        assert _status(client, PROVIDER_A, story.typed).text(".//ans:statusProtocolo") == "1"
        # Another provider's protocol stays another provider's.
        assert _status(client, PROVIDER_B, story.paid).code == "3291"

        statement = post(
            client,
            solicitacao_demonstrativo_pagamento_ws(query_for(PROVIDER_A), competencia="202611"),
            service=DEMONSTRATIVO,
        )
        demo = statement.payload.find(".//ans:demonstrativoPagamento", NS)
        assert demo.findtext(".//ans:numeroProtocolo", namespaces=NS) == story.paid
        assert demo.findtext(".//ans:valorLiberadoDemonstrativo", namespaces=NS) == "387.50"

        # The lot sent before, sent again: the same protocol, not a new one.
        again = post(client, _lot(PROVIDER_A, "MIGSADT1", 3, "S", guide_type="guiaSP-SADT"))
        assert again.protocol == story.paid
        # A guide billed before the upgrade, in a new lot: refused naming it (1308).
        billed = post(client, _lot(PROVIDER_A, "MIGPOS0", 1, "S", guide_type="guiaSP-SADT"))
        assert billed.protocol is None and billed.code == "1308"
        assert "S000001" in billed.text(".//ans:mensagemErro/ans:descricaoGlosa")
        # A new lot: a new protocol, received (1).
        new = post(client, _lot(PROVIDER_A, "MIGPOS1", 2, "N", guide_type="guiaSP-SADT"))
        assert new.protocol and new.protocol not in (story.paid, story.received, story.typed)
        assert _status(client, PROVIDER_A, new.protocol).text(".//ans:statusProtocolo") == "1"
    finally:
        gw.db.dispose()


@pytest.mark.parametrize(
    ("typed", "answer", "code", "name"),
    [
        ("0001.2345.6789-00", "S", None, "Maria Espaçada"),  # stored "0001 2345 6789 00"
        ("00022345678900", "N", "1006", "João Pontuado"),  # stored "0002.2345.6789-00"
        ("4444 5555", "N", "1016", "Rita Barrada"),  # stored "4444/5555"
        ("00031", "S", None, "Bruno Sem Hífen"),
        ("PLAIN9", "S", None, "Caio Simples"),
    ],
)
def test_eligibility_finds_cards_stored_with_separators_however_they_are_typed(
    story, typed, answer, code, name
):
    gw = story.gateway()
    try:
        reply = _eligibility(Client(build_app(gw)), typed)
    finally:
        gw.db.dispose()
    assert reply.text(".//ans:respostaSolicitacao") == answer
    assert reply.text(".//ans:nomeBeneficiario") == name
    assert reply.text(".//ans:motivoNegativa/ans:codigoGlosa") == code


def test_the_registry_exported_again_with_separators_updates_the_rows_of_before(story):
    """The operator's monthly CSV, from the same system as the registry of before 0011 (cards
    printed with separators, a spreadsheet set to Portuguese): the rows 0011 rewrote are
    updated, no second row of the same card appears."""
    gw = story.gateway()
    try:
        csv = (
            "numero_carteira;nome;plano;situacao;data_adesao;data_desligamento;validade_carteira\r\n"
            "7777.8888-99;Paulo Recarregado;Apartamento;ativo;2019-03-01;;2031-12-31\r\n"
        )
        assert load_beneficiaries(gw.db, read_beneficiaries_csv(csv)) == 1
        rows = snapshot(story.url)["beneficiaries"]
        assert len(rows) == len(story.after["beneficiaries"])
        (paulo,) = [r for r in rows if r["name"] == "Paulo Recarregado"]
        assert (paulo["numero_carteira"], paulo["status"], paulo["plan"]) == (
            "7777888899",
            "ativo",
            "Apartamento",
        )
        reply = _eligibility(Client(build_app(gw)), "7777.8888-99")
        assert reply.text(".//ans:respostaSolicitacao") == "S"
    finally:
        gw.db.dispose()


def test_a_card_left_with_its_separators_is_still_found_by_its_exact_text(story, request):
    """0011 leaves "0003-1" as it was because "00031" is another beneficiary's; its docstring
    promises the old row "is still found by its exact text". Ana (cancelled) must not be
    answered as Bruno (active), nor the other way round."""
    gw = story.gateway()
    try:
        client = Client(build_app(gw))
        ana = _eligibility(client, "0003-1")
        bruno = _eligibility(client, "00031")
    finally:
        gw.db.dispose()
    assert (ana.text(".//ans:nomeBeneficiario"), ana.text(".//ans:respostaSolicitacao")) == (
        "Ana Com Hífen",
        "N",
    )
    assert (bruno.text(".//ans:nomeBeneficiario"), bruno.text(".//ans:respostaSolicitacao")) == (
        "Bruno Sem Hífen",
        "S",
    )


def test_importing_a_card_left_with_its_separators_updates_that_row_not_the_other_persons(story):
    """An import naming "0003-1" is about Ana's row, which 0011 left as typed: it must not land
    on "00031" (Bruno) through the plain number."""
    gw = story.gateway()
    try:
        csv = (
            "numero_carteira;nome;plano;situacao;data_adesao;data_desligamento;validade_carteira\r\n"
            "0003-1;Ana Com Hífen;Enfermaria;ativo;2018-01-01;;2031-12-31\r\n"
        )
        assert load_beneficiaries(gw.db, read_beneficiaries_csv(csv)) == 1
        rows = snapshot(story.url)["beneficiaries"]
        assert len(rows) == len(story.after["beneficiaries"])
        by_card = {r["numero_carteira"]: r for r in rows}
        assert (by_card["0003-1"]["name"], by_card["0003-1"]["plan"]) == (
            "Ana Com Hífen",
            "Enfermaria",
        )
        before = {r["numero_carteira"]: r for r in story.after["beneficiaries"]}
        assert by_card["00031"] == before["00031"]  # Bruno's row untouched
        ana = _eligibility(Client(build_app(gw)), "0003-1")
        assert ana.text(".//ans:nomeBeneficiario") == "Ana Com Hífen"
        assert ana.text(".//ans:respostaSolicitacao") == "S"  # reinstated by the import
    finally:
        gw.db.dispose()


def test_a_host_that_kept_its_connections_through_the_upgrade_goes_on_serving(story):
    """deploy/README.md: the hosts keep serving while `db upgrade` runs, then restart one by
    one. Their pooled connections saw the schema change under them (on SQLite, `messages`
    rebuilt)."""
    client = Client(build_app(story.serving))
    assert _status(client, PROVIDER_A, story.paid).text(".//ans:statusProtocolo") == "6"
    answer = post(client, _lot(PROVIDER_B, "MIGSERV1", 1, "V"))
    assert answer.protocol and not answer.is_fault
    assert _status(client, PROVIDER_B, answer.protocol).text(".//ans:statusProtocolo") == "1"


def oversized_request(story) -> bytes:
    """A lot above the size limit, refused unread (5002) by the upgraded gateway: archived with
    the size it announced and no digest (NULL, which 0012 allows). Returns what was sent."""
    gw = story.gateway(max_message_bytes=2048)
    try:
        sent = envelope(_lot(PROVIDER_A, f"BIG{uuid.uuid4().hex[:8]}", 12, "X"))
        assert len(sent) > 2048
        assert post(Client(build_app(gw)), None, raw=sent).code == "5002"
    finally:
        gw.db.dispose()
    return sent


def unread(rows: list[dict], size: int) -> dict:
    """The latest request of `size` refused unread (the module's story may hold earlier ones)."""
    return max(
        (m for m in rows if m["request_size"] == size and not m["raw_request"]),
        key=lambda m: m["id"],
    )


def nullable_changes(url: str) -> list[tuple]:
    """What compare_metadata finds besides nothing: (operation, table, column) of each."""
    found = []
    for diff in differences(url):
        for op in diff if isinstance(diff, list) else [diff]:
            found.append((op[0], op[2], op[3]))
    return found


def assert_references_intact(url: str) -> None:
    if not url.startswith("sqlite"):
        return  # PostgreSQL checks each reference as it is written, DDL or not
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        engine.dispose()


def test_down_to_0011_and_0010_and_up_again_keeps_every_row(story):
    config = alembic_config(story.url)
    sent = oversized_request(story)
    live = snapshot(story.url)
    assert unread(live["messages"], len(sent))["request_sha256"] is None
    # 0011's schema needs a digest: the downgrade writes what the code before 0012 wrote.
    expected = {
        **live,
        "messages": [
            {**m, "request_sha256": EMPTY_SHA256} if m["request_sha256"] is None else m
            for m in live["messages"]
        ],
    }
    try:
        command.downgrade(config, "0011")
        assert snapshot(story.url) == expected
        assert not triggers(story.url) & set(IMMUTABLE)
        assert attempt(story.url, "UPDATE access_log SET detail = 'reescrito'") is None
        assert nullable_changes(story.url) == [("modify_nullable", "messages", "request_sha256")]
        assert_references_intact(story.url)

        command.downgrade(config, "0010")
        assert snapshot(story.url) == expected
        assert_references_intact(story.url)

        command.upgrade(config, "head")
        assert differences(story.url) == []
        assert triggers(story.url) >= set(IMMUTABLE)
        assert "append-only" in attempt(story.url, "UPDATE access_log SET detail = 'reescrito'")
        assert_references_intact(story.url)
        again = snapshot(story.url)
        oversized = unread(again["messages"], len(sent))["id"]
        assert {
            name: [r for r in rows if name != "messages" or r["id"] != oversized]
            for name, rows in again.items()
        } == {
            name: [r for r in rows if name != "messages" or r["id"] != oversized]
            for name, rows in expected.items()
        }
    finally:
        command.upgrade(config, "head")


def test_a_round_trip_through_0011_leaves_no_digest_of_nothing(story):
    config = alembic_config(story.url)
    sent = oversized_request(story)
    try:
        command.downgrade(config, "0011")
    finally:
        command.upgrade(config, "head")
    record = unread(snapshot(story.url)["messages"], len(sent))
    assert record["request_sha256"] is None


# The version before 0012, serving beside the upgraded schema during the rollout: its own code,
# taken from the repository's history, run in a process of its own. It reads the requests from
# stdin and prints the answers; the answers are checked here, against the official schema.
OLD_HOST = r"""
import base64, json, sys
from pathlib import Path

from werkzeug.test import Client

from gateway.app import build_app
from gateway.config import Settings
from gateway.services import pipeline
from gateway.services.gateway import Gateway

job = json.loads(sys.stdin.read())
settings = Settings(
    database_url=job["url"],
    registro_ans=None,
    accepted_versions=("4.03.00",),
    max_message_bytes=job["limit"],
    var_dir=Path(job["var_dir"]),
)
gw = Gateway.start(settings)
client = Client(build_app(gw))
real = pipeline.Answer


def fail_after_archiving(*args, **kwargs):
    raise RuntimeError("falha depois de arquivar o registro")


answers = []
for request in job["requests"]:
    pipeline.Answer = fail_after_archiving if request["fail"] else real
    response = client.post(
        request["path"],
        data=base64.b64decode(request["body"]),
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", "X-Request-Id": request["id"]},
    )
    answers.append(
        {
            "status": response.status_code,
            "content_type": response.headers["Content-Type"],
            "raw": base64.b64encode(response.data).decode(),
        }
    )
gw.db.dispose()
print(json.dumps(answers))
"""


OLD_TREE = ("gateway", "storage", "wsdl", "xsd")
MIGRATION_0012 = "storage/migrations/versions/0012_immutable_records.py"


def git(*args: str) -> bytes:
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, check=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def code_before_0012(tmp_path_factory):
    """The project as it was just before the commit that added 0012."""
    try:
        added = git("log", "--diff-filter=A", "--format=%H", "--", MIGRATION_0012).split()
        if not added:
            pytest.skip("the repository's history does not hold the commit that added 0012")
        archive = git("archive", f"{added[-1].decode()}^", *OLD_TREE)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no git history to take the version before 0012 from: {exc}")
    tree = tmp_path_factory.mktemp("before-0012")
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(tree, filter="data")
    assert not (tree / MIGRATION_0012).exists()
    return tree


def run_old_host(story, tree, requests: list[dict], limit: int) -> list[SoapAnswer]:
    job = {
        "url": story.url,
        "limit": limit,
        "var_dir": str(story.tmp),
        "requests": [{**r, "body": base64.b64encode(r["body"]).decode()} for r in requests],
    }
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", OLD_HOST],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [
        read_answer(a["status"], a["content_type"], base64.b64decode(a["raw"]), "4.03.00")
        for a in json.loads(done.stdout.strip().splitlines()[-1])
    ]


def test_the_version_before_0012_keeps_serving_on_the_upgraded_database(story, code_before_0012):
    """deploy/README.md: 0012's triggers leave the version before it working, "as it never
    changes those values". Its own code answers a status query, takes a lot, archives a request
    it refused unread (with the SHA-256 of no bytes, as it did), and after a failure past the
    archive rewrites the whole record with the same request values, which the triggers let
    through."""
    lot = envelope(_lot(PROVIDER_B, "OLDHOST1", 1, "O"))
    status = envelope(solicitacao_status_ws(query_for(PROVIDER_A), story.paid))
    big = envelope(_lot(PROVIDER_A, "OLDHOST2", 40, "Z", guide_type="guiaSP-SADT"))
    limit = 8192
    assert len(lot) < limit < len(big) and len(status) < limit
    ids = {name: f"old-{name}-{uuid.uuid4().hex[:8]}" for name in ("status", "lot", "big", "fail")}
    lote, situacao = "/tiss/v40300/tissLoteGuias", f"/tiss/v40300/{STATUS}"
    requests = [
        {"id": ids["status"], "path": situacao, "body": status, "fail": False},
        {"id": ids["lot"], "path": lote, "body": lot, "fail": False},
        {"id": ids["big"], "path": lote, "body": big, "fail": False},
        {"id": ids["fail"], "path": situacao, "body": status, "fail": True},
    ]
    paid, accepted, refused, failed = run_old_host(story, code_before_0012, requests, limit)

    assert body(paid) == body(story.paid_status_before)
    assert accepted.protocol and not accepted.is_fault
    assert refused.code == "5002"
    assert failed.tiss_fault == "ErroInesperadoServidor"
    archive = snapshot(story.url)["messages"]
    # One record for the failed query: its first one, rewritten, not a second one beside it.
    assert [r["request_id"] for r in archive].count(ids["fail"]) == 1
    records = {r["request_id"]: r for r in archive}
    for name, sent in (("status", status), ("lot", lot), ("fail", status)):
        record = records[ids[name]]
        assert bytes(record["raw_request"]) == sent
        assert record["request_sha256"] == hashlib.sha256(sent).hexdigest()
    assert (records[ids["lot"]]["outcome"], records[ids["fail"]]["outcome"]) == (
        "accepted",
        "error",
    )
    assert records[ids["big"]]["request_sha256"] == EMPTY_SHA256
    gw = story.gateway()
    try:
        answer = _status(Client(build_app(gw)), PROVIDER_B, accepted.protocol)
        assert answer.text(".//ans:statusProtocolo") == "1"
    finally:
        gw.db.dispose()
