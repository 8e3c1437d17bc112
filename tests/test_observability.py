"""Request ids, structured logs, /healthz, /readyz and Prometheus metrics."""

import json
import logging
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from urllib.parse import quote

import pytest
from lxml import etree
from prometheus_client import REGISTRY
from sqlalchemy import select
from werkzeug.test import Client

from gateway.app import build_app
from gateway.logs import (
    RequestIdFilter,
    bind_request_id,
    logging_config,
    redact,
    unbind_request_id,
)
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.services.client_certificates import add_certificate
from gateway.services.inbound import Principal
from gateway.services.uploads import upload_lot_file
from gateway.tiss.header import Party
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    mensagem_tiss,
    pedido_elegibilidade_ws,
)
from storage.models import Account, Message
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.log_capture import json_log_lines
from tests.pki import make_ca, make_holder
from tests.tissclient import envelope, post, sample_lot

LOTE = "/tiss/v40300/tissLoteGuias"
HEADERS = {"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'}
BENEFICIARY = "Maria da Conceição Beneficiária"


@pytest.fixture
def captured():
    with json_log_lines(logging.DEBUG) as lines:
        yield lines


def _lot(numero: str, count: int = 2, **overrides):
    return envelope(
        lote_guias_ws(sample_lot(PROVIDER_A, numero, count, registro_ans=REGISTRO_ANS), **overrides)
    )


def _stored_request_ids(gw) -> list[str]:
    with gw.db.reading() as session:
        return list(session.scalars(select(Message.request_id).order_by(Message.id)))


def test_every_answer_carries_the_request_id_that_is_archived(client, gw):
    given = client.post(LOTE, data=_lot("RID1"), headers={**HEADERS, "X-Request-Id": "abc-123"})
    made = client.post(LOTE, data=_lot("RID2"), headers=HEADERS)
    refused = client.post(LOTE, data=_lot("RID3"), headers={**HEADERS, "X-Request-Id": "x y<>"})
    assert given.headers["X-Request-Id"] == "abc-123"
    assert len(made.headers["X-Request-Id"]) == 32
    assert refused.headers["X-Request-Id"] not in ("x y<>", "")
    assert _stored_request_ids(gw) == [
        "abc-123",
        made.headers["X-Request-Id"],
        refused.headers["X-Request-Id"],
    ]
    # Pages answered by Flask get one too.
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32


def test_log_lines_of_a_request_carry_its_id_and_the_answer(client, captured):
    response = client.post(LOTE, data=_lot("LOG1"), headers={**HEADERS, "X-Request-Id": "req-1"})
    assert response.status_code == 200
    lines = captured()
    assert lines and all(line["request_id"] == "req-1" for line in lines)
    (answered,) = [line for line in lines if line["message"] == "answered"]
    assert answered["service"] == "tissLoteGuias"
    assert answered["outcome"] == "accepted"
    assert answered["version"] == "4.03.00"
    assert answered["protocol"]
    assert answered["auth_method"] == "password"
    (access,) = [line for line in lines if line["logger"] == "gateway.access"]
    assert access["status"] == 200 and access["path"] == LOTE and access["duration_ms"] > 0


def test_rejections_are_logged_with_their_code(client, captured):
    client.post(LOTE, data=_lot("LOG2", hash_value="0" * 32), headers=HEADERS)
    client.post(LOTE, data=b"not xml", headers=HEADERS)
    answered = [line for line in captured() if line["message"] == "answered"]
    # Refused before the login (rows 1 and 6): no authentication method.
    assert [(a["outcome"], a["code"], a["fault"], a["auth_method"]) for a in answered] == [
        ("rejected", "5014", "HashInvalido", None),
        ("rejected", "5002", "SchemaInvalido", None),
    ]


def test_answered_line_says_how_the_sender_authenticated(client, gw, captured):
    """password, certificate (a registered client certificate, no loginSenhaPrestador) or portal
    (an upload): the method only, never the password, its MD5 or the certificate."""
    now = datetime.now(UTC)
    holder = make_holder("HOSPITAL A:11222333000181", make_ca("AC Teste", now=now), now=now)
    add_certificate(gw.db, PROVIDER_A.code, holder.cert_pem)
    behind_nginx = Client(
        build_app(replace(gw, settings=replace(gw.settings, client_cert_headers=True)))
    )
    certificate_headers = {
        "X-SSL-Client-Verify": "SUCCESS",
        "X-SSL-Client-Cert": quote(holder.cert_pem.decode()),
    }
    no_login = sample_lot(PROVIDER_A, "AUTH1", 1, registro_ans=REGISTRO_ANS, login=None)
    by_certificate = behind_nginx.post(
        LOTE, data=envelope(lote_guias_ws(no_login)), headers={**HEADERS, **certificate_headers}
    )
    assert by_certificate.status_code == 200
    assert client.post(LOTE, data=_lot("AUTH2"), headers=HEADERS).status_code == 200
    wrong = sample_lot(PROVIDER_A, "AUTH3", 1, registro_ans=REGISTRO_ANS, senha_md5="f" * 32)
    client.post(LOTE, data=envelope(lote_guias_ws(wrong)), headers=HEADERS)
    with gw.db.reading() as session:
        account = session.scalar(select(Account).where(Account.login == PROVIDER_A.cnpj))
    file_lot = sample_lot(PROVIDER_A, "AUTH4", 1, registro_ans=REGISTRO_ANS, login=None)
    uploaded = upload_lot_file(
        gw, etree.tostring(mensagem_tiss(file_lot)), Principal(account.id, account.provider_id)
    )
    assert uploaded.answer.protocol

    lines = captured()
    answered = [line for line in lines if line["message"] == "answered"]
    assert [(a["channel"], a["outcome"], a["auth_method"]) for a in answered] == [
        ("soap", "accepted", "certificate"),
        ("soap", "accepted", "password"),
        ("soap", "rejected", None),
        ("upload", "accepted", "portal"),
    ]
    text = json.dumps(lines, ensure_ascii=False)
    certificate_body = holder.cert_pem.decode().splitlines()[1]
    for secret in (PROVIDER_A.password, PROVIDER_A.senha_md5, "f" * 32, certificate_body):
        assert secret not in text


def test_no_password_hash_or_beneficiary_name_in_logs(client, gw, captured):
    upsert_beneficiaries(
        gw.db,
        [BeneficiaryData("00012345678901", BENEFICIARY, "Plano", "ativo", date(2020, 1, 1))],
    )
    query = SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROVIDER_A.cnpj),
        codigo_prestador=PROVIDER_A.code,
        login=PROVIDER_A.cnpj,
        senha_md5=PROVIDER_A.senha_md5,
    )
    answer = post(
        client,
        pedido_elegibilidade_ws(query, "00012345678901"),
        service="tissVerificaElegibilidade",
    )
    assert answer.payload is not None
    wrong = replace(query, senha_md5="f" * 32)
    post(
        client,
        pedido_elegibilidade_ws(wrong, "00012345678901"),
        service="tissVerificaElegibilidade",
    )
    text = json.dumps(captured(), ensure_ascii=False)
    for secret in (PROVIDER_A.password, PROVIDER_A.senha_md5, "f" * 32, BENEFICIARY, "$argon2"):
        assert secret not in text


def test_redact_hides_sql_parameters_passwords_and_hashes():
    message = (
        "(psycopg.errors.X) boom\n[SQL: INSERT INTO messages (raw_request) VALUES (%s)]\n"
        "[parameters: (b'<ans:senhaPrestador>abc</ans:senhaPrestador>',)]\n(Background...)"
    )
    assert "senhaPrestador>abc" not in redact(message)
    assert "[parameters: hidden]" in redact(message)
    assert redact("<ans:senhaPrestador>0cc175b9c0f1b6a8</ans:senhaPrestador>") == (
        "<ans:senhaPrestador>***</ans:senhaPrestador>"
    )
    assert "c2FsdA" not in redact("hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA here")


@pytest.mark.parametrize("prefix", ["wsse:", "o:", ""])
def test_redact_hides_a_ws_security_password(prefix):
    logged = (
        f'<{prefix}Password Type="...#PasswordText">Demo@Tiss2026</{prefix}Password>'
        f"<{prefix}Nonce>bm9uY2U=</{prefix}Nonce>"
    )
    redacted = redact(logged)
    assert "Demo@Tiss2026" not in redacted and "bm9uY2U=" in redacted


@pytest.mark.parametrize(
    "logged",
    [
        "<ans:senhaPrestador><!-- MD5 -->0cc175b9c0f1b6a8</ans:senhaPrestador>",
        "<ans:senhaPrestador><![CDATA[0cc175b9c0f1b6a8]]></ans:senhaPrestador>",
        '<ans:senhaPrestador xmlns:ans="http://www.ans.gov.br/padroes/tiss/schemas">'
        "0cc175b9c0f1b6a8</ans:senhaPrestador>",
        "...<ans:senhaPrestador>0cc175b9c0f1b6a8",  # a piece of a message, cut short
    ],
    ids=["comment-first", "cdata", "namespace-on-the-element", "cut-short"],
)
def test_redact_hides_the_password_in_every_form_xml_allows(logged):
    redacted = redact(f"could not store {logged} (retrying)")
    assert "0cc175b9c0f1b6a8" not in redacted
    assert redacted.startswith("could not store ") and "senhaPrestador" in redacted


def test_logging_config_formats():
    assert logging_config("text")["formatters"]["tiss"]["()"].__name__ == "TextFormatter"
    with pytest.raises(ValueError):
        logging_config("xml")


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_answers_latency_lots_and_guides(client):
    accepted = dict(
        service="tissLoteGuias", version="4.03.00", outcome="accepted", code="", channel="soap"
    )
    bad_hash = dict(accepted, outcome="rejected", code="5014")
    lots = dict(version="4.03.00", guide_type="guiaConsulta", outcome="accepted")
    before = {
        "accepted": _sample("tiss_requests_total", **accepted),
        "bad_hash": _sample("tiss_requests_total", **bad_hash),
        "lots": _sample("tiss_lots_received_total", **lots),
        "guides": _sample("tiss_guides_received_total", **lots),
        "latency": _sample("tiss_request_duration_seconds_count", service="tissLoteGuias"),
    }
    client.post(LOTE, data=_lot("MET1", 3), headers=HEADERS)
    client.post(LOTE, data=_lot("MET1", 3), headers=HEADERS)  # resend: duplicate
    client.post(LOTE, data=_lot("MET2", hash_value="0" * 32), headers=HEADERS)
    assert _sample("tiss_requests_total", **accepted) == before["accepted"] + 1
    assert _sample("tiss_requests_total", **bad_hash) == before["bad_hash"] + 1
    assert _sample("tiss_lots_received_total", **lots) == before["lots"] + 1
    assert _sample("tiss_guides_received_total", **lots) == before["guides"] + 3
    assert _sample("tiss_lots_received_total", **dict(lots, outcome="duplicate")) >= 1
    latency = _sample("tiss_request_duration_seconds_count", service="tissLoteGuias")
    assert latency == before["latency"] + 3

    page = client.get("/metrics")
    assert page.status_code == 200
    assert page.content_type.startswith("text/plain")
    assert b"tiss_request_duration_seconds_bucket" in page.data


def test_metrics_token(gw):
    client = Client(build_app(replace(gw, settings=replace(gw.settings, metrics_token="s3cret"))))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and b"tiss_requests_total" in ok.data
    # The scheme is case-insensitive (RFC 7235), the token is not; Basic is not a bearer token.
    assert client.get("/metrics", headers={"Authorization": "bearer s3cret"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "BEARER  s3cret"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer S3CRET"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic s3cret"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "s3cret"}).status_code == 401


def test_health_and_readiness_say_what_is_loaded(client, gw):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready"
    assert body["schemas"] == {v: "compiled" for v in gw.settings.accepted_versions}


def test_readiness_fails_without_the_database(gw):
    from storage.db import Database

    broken = replace(gw, db=Database("sqlite:////nonexistent/dir/x.db"))
    answer = Client(build_app(broken)).get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["database"] == "unreachable"


SECRET_MD5 = "0cc175b9c0f1b6a8"


def _failed_record(formatter: logging.Formatter) -> str:
    """A line as either format writes it for a failure whose message, exception and extra field
    each quote the password (as a driver's error quotes a statement's parameters)."""
    piece = f"<ans:senhaPrestador>{SECRET_MD5}</ans:senhaPrestador>"
    try:
        raise RuntimeError(f"could not store {piece}")
    except RuntimeError:
        record = logging.LogRecord(
            "gateway.test", logging.ERROR, __file__, 1, "failed on %s", (piece,), sys.exc_info()
        )
    record.fragment = piece  # as `extra={"fragment": ...}` sets it
    token = bind_request_id("req-123")
    try:
        RequestIdFilter().filter(record)  # the handler's filter, while the request is handled
        return formatter.format(record)
    finally:
        unbind_request_id(token)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_both_log_formats_hide_the_password_in_message_exception_and_fields(fmt):
    formatter = logging_config(fmt)["formatters"]["tiss"]["()"]()
    line = _failed_record(formatter)
    assert SECRET_MD5 not in line
    assert "req-123" in line and "RuntimeError: could not store" in line
    if fmt == "json":
        entry = json.loads(line)
        assert entry["request_id"] == "req-123"
        assert entry["fragment"] == "<ans:senhaPrestador>***</ans:senhaPrestador>"
        assert "Traceback" in entry["exception"]
