"""The audit trail at its extremes: every way a web-service request can be refused is archived
with its bytes as received and the answer as sent, under the request id of the log line and of
the HTTP header; archived records and the access log cannot be changed through the product;
the retention job keeps 90 days; the portal shows the last login and the failed attempts made
through both doors, and its access log says who, when and from where.

What an auditor checks, for each message: the request stored byte for byte (its SHA-256 and
size too); the stored answer is what the client found in the HTTP body, byte for byte (a body
answer with a hash that verifies and the official schema of its version; a fault as the whole
SOAP Fault, faultstring and tissFaultWS detail included); one record per request; the same request
id in the record, the `answered` log line and the `X-Request-Id` header; the same archive id in
the log line and, for a body answer, in `sequencialTransacao`."""

import hashlib
import io
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.test import Client

from gateway.app import build_app
from gateway.services import lots, passwords, ws_login
from gateway.services.accounts import access_log
from gateway.services.accounts.access_log import Origin
from gateway.tiss.header import Party
from gateway.tiss.namespaces import ANS, SOAP11_ENV
from gateway.tiss.samples import SampleQuery, lote_guias_ws, solicitacao_status_ws
from storage import models
from storage.portal_models import AccessLogEntry
from tests import backoffice_client as bo
from tests import portal_support as ps
from tests import provider_area_support as pas
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.log_capture import json_log_lines
from tests.tissclient import (
    NS,
    assert_official,
    envelope,
    leaf_md5,
    read_answer,
    sample_lot,
)

LOTE = "/tiss/v40300/tissLoteGuias"
ATTACKER = "192.0.2.99"
CLIENT_ADDR = "198.51.100.20"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture(autouse=True)
def forget_verified_credentials():
    """No credential is remembered as recently verified from an earlier test: the throttle and
    the lock are then decided as for a client seen for the first time."""
    passwords._verified.clear()
    yield
    passwords._verified.clear()


@pytest.fixture
def captured():
    with json_log_lines(logging.INFO) as lines:
        yield lines


# --- what providers send -------------------------------------------------------------------


def _lot_element(numero: str, **overrides):
    hash_value = overrides.pop("hash_value", None)
    overrides.setdefault("registro_ans", REGISTRO_ANS)
    lot = sample_lot(PROVIDER_A, numero, 2, **overrides)
    return lote_guias_ws(lot, hash_value=hash_value)


def _lot(numero: str, **overrides) -> bytes:
    return envelope(_lot_element(numero, **overrides))


def _with_padrao(numero: str, padrao: str) -> bytes:
    element = _lot_element(numero)
    element.find("ans:cabecalho/ans:Padrao", NS).text = padrao
    return envelope(element)


def _soap(body: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="ISO-8859-1"?>{prolog}'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENV}" xmlns:ans="{ANS}">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode("iso-8859-1")


def _entity_bomb() -> bytes:
    prolog = '<!DOCTYPE soapenv:Envelope [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    return _soap("<ans:loteGuiasWS>&lol2;</ans:loteGuiasWS>", prolog)


def _too_deep() -> bytes:
    return _soap("<ans:loteGuiasWS>" + "<a>" * 80 + "x" + "</a>" * 80 + "</ans:loteGuiasWS>")


def _schema_invalid(numero: str) -> bytes:
    element = _lot_element(numero)
    lote = element.find("ans:loteGuias", NS)
    lote.remove(lote.find("ans:numeroLote", NS))
    return envelope(element)


def _status_query() -> SampleQuery:
    return SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROVIDER_A.cnpj),
        codigo_prestador=PROVIDER_A.code,
        login=PROVIDER_A.cnpj,
        senha_md5=PROVIDER_A.senha_md5,
    )


@dataclass(frozen=True)
class Refusal:
    """A request and the answer a provider must get: the tissFault category and the table-38
    code at the start of the fault string (None for ErroInesperadoServidor, which has none)."""

    make: Callable  # (gw) -> the bytes to POST
    tiss_fault: str
    code: str | None


def _throttled_address(gw) -> bytes:
    """An address with 20 failed web-service logins in the last minutes (other logins), then
    the provider's right credentials from it."""
    now = gw.utcnow()
    with gw.db.transaction() as session:
        for n in range(ws_login.ADDRESS_MAX_FAILURES):
            failure = ws_login.LoginFailure(f"9999999{n:07d}", None, ATTACKER)
            ws_login.record_failure(session, failure, now - timedelta(seconds=30))
    return _lot("THROTTLE1")


REFUSALS = {
    "not-xml": Refusal(lambda gw: b"isto n\xe3o \xe9 XML \x00\xff", "SchemaInvalido", "5002"),
    "dtd-entity": Refusal(lambda gw: _entity_bomb(), "SchemaInvalido", "5002"),
    "too-deep": Refusal(lambda gw: _too_deep(), "SchemaInvalido", "5002"),
    "empty-body": Refusal(lambda gw: _soap(""), "SchemaInvalido", "5002"),
    "unknown-root": Refusal(
        lambda gw: _soap("<ans:loteGuiasXYZ><ans:x>1</ans:x></ans:loteGuiasXYZ>"),
        "SchemaInvalido",
        "5001",
    ),
    "other-service-root": Refusal(
        lambda gw: envelope(solicitacao_status_ws(_status_query(), "123")),
        "SchemaInvalido",
        "5001",
    ),
    "wrong-version": Refusal(lambda gw: _with_padrao("VER1", "3.05.00"), "VersaoInvalida", "5028"),
    "schema-errors": Refusal(lambda gw: _schema_invalid("SCH1"), "SchemaInvalido", "5001"),
    "bad-hash": Refusal(lambda gw: _lot("HASH1", hash_value="0" * 32), "HashInvalido", "5014"),
    "wrong-destination": Refusal(
        lambda gw: _lot("DEST1", registro_ans="999999"), "DestinatarioInvalido", "5027"
    ),
    "bad-login": Refusal(lambda gw: _lot("LOGIN1", senha_md5="f" * 32), "LoginInvalido", "5005"),
    "no-login": Refusal(lambda gw: _lot("LOGIN2", login=None), "LoginInvalido", "5005"),
    "wrong-sender": Refusal(
        lambda gw: _lot("SENDER1", origem=Party("CNPJ", PROVIDER_B.cnpj)),
        "RemetenteInvalido",
        "5005",
    ),
    "rate-limited": Refusal(_throttled_address, "LoginInvalido", "5005"),
}


# --- what the auditor reads ----------------------------------------------------------------


def _post(client, data: bytes, request_id: str, addr: str = CLIENT_ADDR):
    response = client.post(
        LOTE,
        data=data,
        headers={
            "Content-Type": "text/xml; charset=ISO-8859-1",
            "SOAPAction": '""',
            "X-Request-Id": request_id,
        },
        environ_base={"REMOTE_ADDR": addr},
    )
    answer = read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )
    return response, answer


def _messages(gw) -> list[models.Message]:
    with gw.db.reading() as session:
        return list(session.scalars(select(models.Message).order_by(models.Message.id)))


def _without_declaration(stored: bytes) -> bytes:
    assert stored.startswith(b"<?xml"), stored[:80]
    return stored.split(b"?>", 1)[1].lstrip(b"\r\n")


def _fault_detail(body: bytes) -> etree._Element:
    fault = etree.fromstring(body).find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
    return fault.find("detail")[0]


def _same_xml(a: etree._Element, b: etree._Element) -> bool:
    """Same elements (namespace and name), texts and attributes, in the same order: equal as
    XML whatever prefixes each serialization chose."""
    return (
        a.tag == b.tag
        and (a.text or "").strip() == (b.text or "").strip()
        and dict(a.attrib) == dict(b.attrib)
        and len(a) == len(b)
        and all(_same_xml(x, y) for x, y in zip(a, b, strict=True))
    )


def _answered_line(lines: list[dict], request_id: str) -> dict:
    answered = [line for line in lines if line["message"] == "answered"]
    assert len(answered) == 1, answered
    assert answered[0]["request_id"] == request_id
    return answered[0]


def _assert_archived_as_sent(
    response, answer, record: models.Message, sent: bytes, rid: str, addr: str = CLIENT_ADDR
):
    """The record holds the request byte for byte and exactly the answer the client got."""
    assert record.request_id == rid == response.headers["X-Request-Id"]
    assert record.raw_request == sent
    assert record.request_size == len(sent)
    assert record.request_sha256 == hashlib.sha256(sent).hexdigest()
    assert record.remote_addr == addr
    assert record.raw_response is not None
    charset = response.headers["Content-Type"].split("charset=")[1]
    assert record.response_charset.upper() == charset.upper()
    stored = etree.fromstring(record.raw_response)
    if answer.is_fault:
        # The whole SOAP fault, byte for byte: its tissFaultWS detail and, in faultstring, the
        # table-38 code and the reason.
        assert _without_declaration(record.raw_response) in response.data
        detail = _fault_detail(record.raw_response)
        assert _same_xml(detail, _fault_detail(response.data))
        assert detail.tag == f"{{{ANS}}}tissFaultWS"
        assert detail.findtext("ans:tissFault", namespaces=NS) == answer.tiss_fault
        assert record.fault == answer.tiss_fault
        assert_official(detail, "4.03.00")
    else:
        # Byte for byte: the archived element is the one in the HTTP body, as written there.
        assert _without_declaration(record.raw_response) in response.data
        version = stored.findtext("ans:cabecalho/ans:Padrao", namespaces=NS)
        assert_official(stored, version)
        assert stored.findtext("ans:hash", namespaces=NS) == leaf_md5(stored)
        sequencial = stored.findtext(
            "ans:cabecalho/ans:identificacaoTransacao/ans:sequencialTransacao", namespaces=NS
        )
        assert sequencial == str(record.id)


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_every_refusal_is_archived_with_the_bytes_received_and_the_answer_sent(
    client, gw, captured, case
):
    refusal = REFUSALS[case]
    addr = ATTACKER if case == "rate-limited" else CLIENT_ADDR
    sent = refusal.make(gw)
    rid = f"audit-{case}-{uuid.uuid4().hex[:8]}"

    response, answer = _post(client, sent, rid, addr)

    assert (answer.tiss_fault, answer.code) == (refusal.tiss_fault, refusal.code), (
        answer.faultstring
    )
    (record,) = _messages(gw)
    assert record.outcome == "rejected" and record.codes == refusal.code
    _assert_archived_as_sent(response, answer, record, sent, rid, addr)
    line = _answered_line(captured(), rid)
    assert (line["message_id"], line["outcome"], line["code"], line["fault"]) == (
        record.id,
        "rejected",
        refusal.code,
        refusal.tiss_fault,
    )


@pytest.mark.parametrize("case", ["bad-hash", "schema-errors"])
def test_a_refusal_archives_the_fault_answer_byte_for_byte(client, gw, case):
    sent = REFUSALS[case].make(gw)

    response, answer = _post(client, sent, f"fault-bytes-{case}")

    (record,) = _messages(gw)
    archived = _without_declaration(record.raw_response)
    assert archived in response.data
    assert answer.faultstring.encode(record.response_charset) in record.raw_response


def _assert_body_answer_archived(client, gw, sent: bytes, rid: str, *, charset="ISO-8859-1"):
    response = client.post(
        LOTE,
        data=sent,
        headers={"Content-Type": f"text/xml; charset={charset}", "X-Request-Id": rid},
        environ_base={"REMOTE_ADDR": CLIENT_ADDR},
    )
    answer = read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )
    record = _messages(gw)[-1]
    _assert_archived_as_sent(response, answer, record, sent, rid)
    return answer, record


def test_body_answers_are_archived_byte_for_byte_with_a_hash_that_verifies(client, gw, captured):
    """Accepted, resent (the original protocol) and refused by a lot rule (5053): each answer
    stored is the element in the HTTP body, hash and schema included."""
    accepted, first = _assert_body_answer_archived(client, gw, _lot("BODY1"), "body-accepted")
    assert accepted.protocol and first.outcome == "accepted"
    resend = _lot("BODY1", sequencial="2")
    duplicate, second = _assert_body_answer_archived(client, gw, resend, "body-duplicate")
    assert duplicate.protocol == accepted.protocol and second.outcome == "duplicate"
    other = envelope(lote_guias_ws(sample_lot(PROVIDER_A, "BODY1", 3, registro_ans=REGISTRO_ANS)))
    clash, third = _assert_body_answer_archived(client, gw, other, "body-5053")
    assert clash.code == "5053" and (third.outcome, third.codes) == ("rejected", "5053")
    lines = [line for line in captured() if line["message"] == "answered"]
    assert [(line["request_id"], line["message_id"]) for line in lines] == [
        ("body-accepted", first.id),
        ("body-duplicate", second.id),
        ("body-5053", third.id),
    ]


def test_a_utf8_request_and_its_utf8_answer_are_archived_as_sent(client, gw):
    sent = envelope(_lot_element("UTF1"), encoding="UTF-8")
    assert "JOSÉ".encode() in sent

    answer, record = _assert_body_answer_archived(client, gw, sent, "utf8-1", charset="UTF-8")

    assert answer.protocol
    assert (record.request_charset, record.response_charset) == ("UTF-8", "UTF-8")


def test_oversized_request_keeps_its_size_and_the_reason(gw, captured):
    small = replace(gw, settings=replace(gw.settings, max_message_bytes=2048))
    client = Client(build_app(small))
    sent = _lot("BIG1")
    assert len(sent) > 2048

    response, answer = _post(client, sent, "oversize-1")

    assert (answer.tiss_fault, answer.code) == ("SchemaInvalido", "5002")
    (record,) = _messages(gw)
    assert record.request_id == "oversize-1" == response.headers["X-Request-Id"]
    assert (record.outcome, record.codes, record.remote_addr) == ("rejected", "5002", CLIENT_ADDR)
    assert "2048" in record.detail
    assert _without_declaration(record.raw_response) in response.data
    line = _answered_line(captured(), "oversize-1")
    assert line["message_id"] == record.id


def test_oversized_request_records_the_size_it_announced(gw):
    small = replace(gw, settings=replace(gw.settings, max_message_bytes=2048))
    sent = _lot("BIG2")

    _post(Client(build_app(small)), sent, "oversize-2")

    (record,) = _messages(gw)
    assert record.request_size == len(sent)
    assert record.request_sha256 != hashlib.sha256(b"").hexdigest()


def test_a_database_failure_mid_lot_leaves_the_request_archived_and_nothing_half_written(
    client, gw, monkeypatch, captured
):
    real = lots.insert_rows

    def fail_on_items(connection, table, rows):
        if table.name == "guide_items":
            connection.exec_driver_sql("INSERT INTO tabela_que_nao_existe VALUES (1)")
        return real(connection, table, rows)

    monkeypatch.setattr(lots, "insert_rows", fail_on_items)
    sent = envelope(_lot_element("DBFAIL1", guide_type="guiaSP-SADT"))  # guides with items

    response, answer = _post(client, sent, "dbfail-1")

    assert answer.tiss_fault == "ErroInesperadoServidor" and answer.faultcode.endswith("Server")
    assert b"tabela_que_nao_existe" not in response.data
    (record,) = _messages(gw)
    assert (record.outcome, record.fault, record.codes) == ("error", "ErroInesperadoServidor", None)
    _assert_archived_as_sent(response, answer, record, sent, "dbfail-1")
    with gw.db.reading() as session:
        for table in (models.Lot, models.Guide, models.GuideItem, models.Protocol):
            assert session.scalar(select(func.count()).select_from(table)) == 0, table
    line = _answered_line(captured(), "dbfail-1")
    assert (line["outcome"], line["message_id"]) == ("error", record.id)

    # The provider resends once the database is back: accepted, a second record.
    monkeypatch.setattr(lots, "insert_rows", real)
    assert _post(client, sent, "dbfail-2")[1].protocol
    assert _messages(gw)[1].raw_request == sent
    assert [m.outcome for m in _messages(gw)] == ["error", "accepted"]


def test_a_query_failing_after_its_record_was_written_keeps_one_record_with_the_fault(
    client, gw, monkeypatch
):
    """A status query runs without a transaction; on SQLite its record exists before the
    answer is signed. A failure there must leave exactly one record, holding the fault sent."""

    def broken_signer(_self, _element):
        raise RuntimeError("HSM fora do ar")

    monkeypatch.setattr(type(gw.signatures), "sign", broken_signer)
    sent = envelope(solicitacao_status_ws(_status_query(), "999"))
    response = client.post(
        "/tiss/v40300/tissSolicitacaoStatusProtocolo",
        data=sent,
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", "X-Request-Id": "query-fail"},
        environ_base={"REMOTE_ADDR": CLIENT_ADDR},
    )
    answer = read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )

    assert answer.tiss_fault == "ErroInesperadoServidor"
    (record,) = _messages(gw)
    assert (record.outcome, record.service) == ("error", "tissSolicitacaoStatusProtocolo")
    _assert_archived_as_sent(response, answer, record, sent, "query-fail")


# --- the access log and what the portal shows -------------------------------------------------

PROXY_ADDR = "10.0.0.5"
REAL_CLIENT = "203.0.113.50"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Teste"
WRONG = "Errada@123"
NEW_PASSWORD = "Trocada#2027"
ENTRAR, SENHA = "/portal/entrar", "/portal/conta/senha"


def _account_id(gw, login: str) -> int:
    with gw.db.reading() as session:
        return session.scalar(select(models.Account.id).where(models.Account.login == login))


def _provider_id(gw, code: str) -> int:
    with gw.db.reading() as session:
        return session.scalar(
            select(models.Provider.id).where(models.Provider.codigo_na_operadora == code)
        )


def _entries(gw) -> list[AccessLogEntry]:
    with gw.db.reading() as session:
        return list(session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))


def _ws_lot(client, numero: str, senha: str | None = None, *, headers=None, environ_base=None):
    """A one-guide lot of provider A (its right password unless `senha`, an MD5 hex)."""
    lot = sample_lot(
        PROVIDER_A, numero, 1, registro_ans=REGISTRO_ANS, senha_md5=senha or PROVIDER_A.senha_md5
    )
    response = client.post(
        LOTE,
        data=envelope(lote_guias_ws(lot)),
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", **(headers or {})},
        environ_base=environ_base or {"REMOTE_ADDR": CLIENT_ADDR},
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )


def _ws_failure(client, numero: str, senha: str = "0" * 32, **kw):
    answer = _ws_lot(client, numero, senha, **kw)
    assert answer.faultstring == "5005 - login ou senha inválidos"


def _portal(client, path: str, data: dict | None = None, **kw) -> int:
    """The status of a portal form posted (with its CSRF token) through `kw`'s headers."""
    return ps.post(client, path, data or {}, **kw).status_code


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "no-proxy-trust"])
def test_portal_and_web_service_events_record_time_address_and_user(gw, trusted):
    """Behind the trusted reverse proxy the client's address is the last X-Forwarded-For hop
    (the proxy appends it; anything before it is what the client claimed); without that trust
    the header is ignored, whoever sends it."""
    app_gw = replace(gw, settings=replace(gw.settings, trust_proxy=trusted))
    client = Client(build_app(app_gw))
    forwarded = {"X-Forwarded-For": f"6.6.6.6, {REAL_CLIENT}", "User-Agent": BROWSER}
    via = {"headers": forwarded, "environ_base": {"REMOTE_ADDR": PROXY_ADDR}}
    expected_addr = REAL_CLIENT if trusted else PROXY_ADDR
    login = PROVIDER_A.cnpj
    before = datetime.now(UTC)

    change = {"current": PROVIDER_A.password, "password": NEW_PASSWORD}

    _ws_failure(client, "WSF1", **via)
    assert _portal(client, ENTRAR, {"login": login, "password": PROVIDER_A.password}, **via) == 302
    assert _portal(client, SENHA, {**change, "password_confirm": NEW_PASSWORD}, **via) == 302
    assert _portal(client, "/portal/sair", token_from="/portal/conta/", **via) == 302
    for _ in range(5):
        assert _portal(client, ENTRAR, {"login": login, "password": WRONG}, **via) == 401
    assert _portal(client, ENTRAR, {"login": login, "password": NEW_PASSWORD}, **via) == 401

    after = datetime.now(UTC)
    entries = _entries(gw)
    assert [e.event for e in entries] == [
        "ws_login_failed",
        "login_ok",
        "password_changed",
        "logout",
        *["login_failed"] * 5,
        "account_locked",
        "login_refused_locked",
    ]
    account = _account_id(gw, login)
    for entry in entries:
        assert entry.account_id == account, entry.event
        assert entry.remote_addr == expected_addr, entry.event
        assert before <= entry.occurred_at <= after, entry.event
        if entry.event != "ws_login_failed":
            assert entry.user_agent == BROWSER, entry.event
    assert entries[0].login == login and entries[0].user_agent == "web service"


def _portal_login_page(client, password: str = PROVIDER_A.password) -> str:
    response = ps.login(client, PROVIDER_A.cnpj, password)
    assert response.status_code == 302, ps.text(response)[:300]
    return ps.text(client.get("/portal/conta/"))


def _shown_failures(page: str) -> tuple[int, int]:
    """(what the message after login says, what Minha conta says) about failed attempts."""
    flashed = re.search(r"Tentativas sem sucesso desde então: (\d+)", page)
    listed = re.search(r"Tentativas sem sucesso antes deste acesso</dt><dd>(\d+)<", page)
    assert flashed and listed, page
    return int(flashed.group(1)), int(listed.group(1))


def _baseline_portal_login(client) -> None:
    """A first portal access, so that the next one has a previous login to show."""
    assert "primeiro acesso" in _portal_login_page(client)
    ps.logout(client)


def test_failures_through_the_web_service_and_the_portal_are_shown_at_the_next_login(client, gw):
    _baseline_portal_login(client)
    _ws_failure(client, "MIX1")
    _ws_failure(client, "MIX2")
    assert ps.login(client, PROVIDER_A.cnpj, WRONG).status_code == 401

    page = _portal_login_page(client)

    assert "Último acesso em" in page
    assert _shown_failures(page) == (3, 3)
    assert page.count("Tentativa de acesso sem sucesso pelo web service") == 2


def test_a_successful_web_service_message_does_not_hide_earlier_failures(client, gw):
    _baseline_portal_login(client)
    _ws_failure(client, "HIDE1")
    _ws_failure(client, "HIDE2")
    assert ps.login(client, PROVIDER_A.cnpj, WRONG).status_code == 401
    assert _ws_lot(client, "HIDE3").protocol  # the hospital's system keeps sending

    assert _shown_failures(_portal_login_page(client)) == (3, 3)


def _lock_then_try_while_locked(client, gw) -> None:
    """5 wrong web-service passwords lock the account; then 2 more web-service attempts and 1
    portal attempt while it is locked; then the lock runs out."""
    for n in range(5):
        _ws_failure(client, f"LCK{n}")
    with gw.db.reading() as session:
        account = session.scalar(
            select(models.Account).where(models.Account.login == PROVIDER_A.cnpj)
        )
        assert account.locked_until is not None
    _ws_failure(client, "LCK5")
    _ws_failure(client, "LCK6", senha=PROVIDER_A.senha_md5)  # the right one, still refused
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 401
    with gw.db.transaction() as session:
        session.execute(
            models.Account.__table__.update()
            .where(models.Account.login == PROVIDER_A.cnpj)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_attempts_while_locked_are_counted_in_what_the_portal_shows(client, gw):
    _baseline_portal_login(client)
    _lock_then_try_while_locked(client, gw)

    assert _shown_failures(_portal_login_page(client)) == (8, 8)


def test_web_service_attempts_on_a_locked_account_are_in_its_owners_access_log(client, gw):
    _lock_then_try_while_locked(client, gw)

    page = _portal_login_page(client)

    assert page.count("Tentativa de acesso sem sucesso pelo web service") == 7
    assert "Tentativa com acesso bloqueado" in page


def _backoffice(client, operation: str, auth: tuple[str, str]):
    response = client.post(
        bo.PATH,
        data=bo.envelope(operation),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        auth=auth,
        environ_base={"REMOTE_ADDR": CLIENT_ADDR},
    )
    return response, bo.body_content(etree.fromstring(response.data))


LISTING = "<bo:listarMensagens><bo:desde>2026-01-01T00:00:00Z</bo:desde></bo:listarMensagens>"


def test_back_office_login_failures_and_lock_are_in_the_access_log(client, gw, staff):
    for _ in range(5):
        response, fault = _backoffice(client, LISTING, (staff.login, WRONG))
        assert response.status_code == 500
        assert fault.findtext("bo:categoria", namespaces=bo.NS) == "AutenticacaoInvalida"

    staff_id = _account_id(gw, staff.login)
    mine = [e for e in _entries(gw) if e.account_id == staff_id]
    assert len([e for e in mine if e.event.endswith("failed")]) == 5
    assert "account_locked" in [e.event for e in mine]
    assert {e.remote_addr for e in mine} == {CLIENT_ADDR}


def _snapshot(record: models.Message) -> dict:
    return {c.name: getattr(record, c.key) for c in models.Message.__table__.columns}


def test_later_traffic_and_operator_actions_never_rewrite_an_archived_record(client, gw, staff):
    """A resend, a status query, the operator moving the protocol and a back-office call for an
    operation that would delete messages: the first record stays exactly as written."""
    protocol = _ws_lot(client, "KEEP1").protocol
    (original,) = _messages(gw)
    before = _snapshot(original)

    assert _ws_lot(client, "KEEP1").protocol == protocol  # resend: duplicate
    status = envelope(solicitacao_status_ws(_status_query(), protocol))
    queried = client.post(
        "/tiss/v40300/tissSolicitacaoStatusProtocolo",
        data=status,
        headers={"Content-Type": "text/xml; charset=ISO-8859-1"},
    )
    read_answer(queried.status_code, queried.headers["Content-Type"], queried.data, "4.03.00")
    move = (
        f"<bo:alterarStatusProtocolo><bo:numeroProtocolo>{protocol}</bo:numeroProtocolo>"
        "<bo:novoStatus>2</bo:novoStatus></bo:alterarStatusProtocolo>"
    )
    moved, _ = _backoffice(client, move, (staff.login, staff.password))
    assert moved.status_code == 200
    erase = f"<bo:excluirMensagem><bo:id>{original.id}</bo:id></bo:excluirMensagem>"
    refused, fault = _backoffice(client, erase, (staff.login, staff.password))
    assert refused.status_code == 500
    assert fault.findtext("bo:categoria", namespaces=bo.NS) == "RequisicaoInvalida"

    records = _messages(gw)
    assert [m.outcome for m in records] == ["accepted", "duplicate", "accepted"]
    assert _snapshot(records[0]) == before


def test_prune_keeps_the_archive_and_every_access_log_entry_of_the_last_90_days(
    client, gw, monkeypatch
):
    """The daily `portal prune` deletes only access-log entries older than 90 days: never a
    message, however old, nor a web-service failure or lock of 89 days ago."""
    now = datetime.now(UTC)
    # Received five years ago (the database refuses to move an archived message's time).
    monkeypatch.setattr(gw, "utcnow", lambda: now - timedelta(days=5 * 365))
    _ws_lot(client, "OLD1")
    monkeypatch.undo()
    _ws_failure(client, "OLD2")
    account = _account_id(gw, PROVIDER_A.cnpj)
    with gw.db.transaction() as session:
        for event, days in (("ws_login_failed", 89), ("account_locked", 89), ("login_ok", 91)):
            access_log.record(
                session,
                event,
                now - timedelta(days=days),
                Origin(CLIENT_ADDR),
                account_id=account,
            )
    kept_messages = [_snapshot(m) for m in _messages(gw)]

    pruned = access_log.prune(gw.db, now)

    assert pruned.access_log == 1
    assert [_snapshot(m) for m in _messages(gw)] == kept_messages
    assert sorted(e.event for e in _entries(gw)) == [
        "account_locked",
        "ws_login_failed",
        "ws_login_failed",
    ]


IMMUTABLE = {
    "access_log": "UPDATE access_log SET event = 'login_ok', remote_addr = '127.0.0.1'",
    "messages": "UPDATE messages SET raw_request = :forged, request_sha256 = 'x'",
}


@pytest.mark.parametrize("table", list(IMMUTABLE))
def test_the_database_refuses_to_rewrite_the_access_log_or_an_archived_request(client, gw, table):
    _ws_lot(client, "IMM1")
    _ws_failure(client, "IMM2")

    with pytest.raises(SQLAlchemyError), gw.db.transaction() as session:
        session.execute(text(IMMUTABLE[table]), {"forged": b"<forjado/>"})


def test_an_oversized_portal_upload_is_archived_like_the_web_services(gw):
    small = replace(gw, settings=replace(gw.settings, max_message_bytes=2048))
    client = Client(build_app(small))
    data = pas.lot_file(PROVIDER_A, "UPBIG1", 3)
    assert len(data) > 2048
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 302

    response = pas.upload(client, data, "grande.xml")

    assert response.status_code == 422 and "maior que o permitido" in ps.text(response)
    (record,) = _messages(gw)
    assert (record.channel, record.outcome, record.codes) == ("upload", "rejected", "5002")
    assert record.file_name == "grande.xml"
    assert record.provider_id == _provider_id(gw, PROVIDER_A.code)


def test_a_refused_portal_upload_is_archived_with_the_request_id_and_the_file_as_sent(
    client, gw, captured
):
    exported = pas.lot_file(PROVIDER_A, "UPHASH1", 1)
    data = re.sub(rb"<ans:hash>[0-9a-f]{32}<", b"<ans:hash>" + b"0" * 32 + b"<", exported)
    assert data != exported
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 302

    response = ps.post(
        client,
        f"{pas.AREA}/envio-xml",
        {"arquivo": (io.BytesIO(data), "lote-com-hash-errado.xml")},
        content_type="multipart/form-data",
        headers={"X-Request-Id": "upload-hash-1"},
        environ_base={"REMOTE_ADDR": CLIENT_ADDR},
    )

    assert response.status_code == 422 and response.headers["X-Request-Id"] == "upload-hash-1"
    (record,) = _messages(gw)
    assert (record.channel, record.outcome, record.codes) == ("upload", "rejected", "5014")
    assert record.raw_request == data and record.request_sha256 == hashlib.sha256(data).hexdigest()
    assert (record.request_id, record.remote_addr) == ("upload-hash-1", CLIENT_ADDR)
    assert record.file_name == "lote-com-hash-errado.xml"
    line = _answered_line(captured(), "upload-hash-1")
    assert (line["channel"], line["message_id"], line["code"]) == ("upload", record.id, "5014")
    # What the provider downloads from Consultar Arquivos is what it sent, byte for byte.
    sent = client.get(f"{pas.AREA}/arquivos/{record.id}/enviado")
    assert sent.status_code == 200 and sent.data == data
    answer = client.get(f"{pas.AREA}/arquivos/{record.id}/retorno")
    assert answer.status_code == 200 and answer.data == record.raw_response
