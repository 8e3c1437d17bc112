"""Failure branches no ordinary request takes: spyne itself failing on a TISS or back-office
endpoint, an unexpected error while the envelope is read, the lock e-mail of a portal account
(sent, and failing to send), and the small HTTP pages and proxy settings around them.

Every answer is checked the way a client would: a SOAP 1.1 envelope whose Fault detail is valid
under the official TISS schema (or the project's back-office XSD), with no traceback in the body;
and the way the operator would: the archived message and the log line."""

import io
from dataclasses import replace
from email import message_from_bytes

import pytest
from lxml import etree
from sqlalchemy import delete, select
from werkzeug.test import Client

from gateway.app import build_app, create_app
from gateway.config_portal import MailSettings
from gateway.services import answers, mail
from gateway.services.accounts import policy
from gateway.services.credentialing import registration
from gateway.soap.backoffice import app as backoffice
from gateway.soap.protocol import TissSoap11
from gateway.tiss.namespaces import SOAP11_ENV
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account, Message, Operator
from storage.portal_models import AccessLogEntry
from tests import backoffice_client as bo
from tests import portal_support as ps
from tests.conftest import PROVIDER_A, REGISTRO_ANS, make_settings
from tests.tissclient import envelope, post, read_answer, sample_lot

LOTE = "/tiss/v40300/tissLoteGuias"
SOAP_HEADERS = {"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'}
WRONG_PASSWORD = "Errada@123"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


def _lot(numero: str, version: str = "4.03.00"):
    return lote_guias_ws(
        sample_lot(PROVIDER_A, numero, 2, registro_ans=REGISTRO_ANS, version=version)
    )


def _explode(*_args, **_kwargs):
    raise RuntimeError("serializer exploded")


def _logged(caplog, logger: str, message: str):
    """The log record of `logger` whose message starts with `message`."""
    found = [r for r in caplog.records if r.name == logger and r.getMessage().startswith(message)]
    assert found, [(r.name, r.getMessage()) for r in caplog.records]
    return found[-1]


def _messages(gw) -> list[Message]:
    with gw.db.reading() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def _is_server_faultcode(raw: bytes) -> bool:
    """faultcode is the QName soapenv:Server, whatever prefix the envelope gave the namespace."""
    fault = etree.fromstring(raw).find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
    prefix, _, local = fault.findtext("faultcode").partition(":")
    return fault.nsmap.get(prefix) == SOAP11_ENV and local == "Server"


def _no_traceback(body: bytes) -> None:
    assert b"Traceback" not in body and b'File "' not in body
    assert b"serializer exploded" not in body


@pytest.mark.parametrize("version", ["4.03.00", "4.02.00"])
def test_spyne_failing_on_a_tiss_endpoint_answers_a_tiss_server_fault_not_html(
    client, monkeypatch, caplog, version
):
    # Writing the answer fails, and again when spyne writes its own fault: spyne gives up.
    monkeypatch.setattr(TissSoap11, "create_out_string", _explode)

    answer = post(client, _lot("SPY1", version), version=version)  # validates the fault

    assert answer.status == 500
    assert answer.content_type == "text/xml; charset=UTF-8"
    assert _is_server_faultcode(answer.raw)
    assert answer.faultstring == answers.SERVER_ERROR
    assert answer.tiss_fault == "ErroInesperadoServidor"
    _no_traceback(answer.raw)
    slug = "v" + version.replace(".", "")
    record = _logged(
        caplog, "gateway.app", f"SOAP application failed on /tiss/{slug}/tissLoteGuias"
    )
    assert isinstance(record.exc_info[1], RuntimeError)


def test_spyne_failing_on_the_back_office_answers_its_last_resort_fault(
    client, staff, monkeypatch, caplog
):
    monkeypatch.setattr(backoffice.BackOfficeSoap11, "create_out_string", _explode)
    body = bo.envelope("<bo:listarMensagens><bo:desde>2026-01-01</bo:desde></bo:listarMensagens>")

    response = client.post(
        bo.PATH,
        data=body,
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        auth=(staff.login, staff.password),
    )

    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert int(response.headers["Content-Length"]) == len(response.data)
    root = etree.fromstring(response.data)
    fault = root.find(f"{{{bo.NS['soapenv']}}}Body/{{{bo.NS['soapenv']}}}Fault")
    assert _is_server_faultcode(response.data)
    assert fault.findtext("faultstring") == backoffice.SERVER_ERROR
    detail = bo.body_content(root)  # validated against xsd/tissGatewayBackOffice.xsd
    assert detail.findtext("bo:categoria", namespaces=bo.NS) == "ErroInesperadoServidor"
    assert detail.findtext("bo:mensagem", namespaces=bo.NS) == backoffice.SERVER_ERROR
    _no_traceback(response.data)
    record = _logged(caplog, "gateway.app", "back-office SOAP application failed")
    assert isinstance(record.exc_info[1], RuntimeError)


CLIENT_FAULT = (
    "<soapenv:Fault><faultcode>soapenv:Client</faultcode>"
    "<faultstring>enviado por engano</faultstring></soapenv:Fault>"
)


def test_tiss_body_holding_a_soap_fault_is_archived_and_answered_as_a_client_error(client, gw):
    sent = (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP11_ENV}">'
        f"<soapenv:Body>{CLIENT_FAULT}</soapenv:Body></soapenv:Envelope>"
    ).encode()

    answer = post(client, None, raw=sent)  # validates the fault

    assert answer.tiss_fault == "SchemaInvalido"  # error-table row 1 of the README
    assert answer.faultstring.startswith("5002")
    assert not _is_server_faultcode(answer.raw)
    (message,) = _messages(gw)
    assert message.raw_request == sent
    assert (message.outcome, message.codes) == ("rejected", "5002")


def test_back_office_body_holding_a_soap_fault_is_an_invalid_request(client, staff):
    response = client.post(
        bo.PATH,
        data=bo.envelope(CLIENT_FAULT),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        auth=(staff.login, staff.password),
    )

    assert response.status_code == 500
    detail = bo.body_content(etree.fromstring(response.data))
    assert detail.findtext("bo:categoria", namespaces=bo.NS) == "RequisicaoInvalida"


class _DroppedConnection(io.BytesIO):
    """A request body whose client goes away after the headers."""

    def read(self, *_args):
        raise ConnectionResetError("connection reset by peer")


def test_unexpected_error_reading_the_envelope_is_archived_and_answered_with_a_server_fault(
    client, gw, caplog
):
    response = client.post(
        LOTE,
        input_stream=_DroppedConnection(envelope(_lot("DROP1"))),
        headers=SOAP_HEADERS,
    )

    answer = read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )
    assert _is_server_faultcode(answer.raw)
    assert answer.faultstring == answers.SERVER_ERROR
    assert answer.tiss_fault == "ErroInesperadoServidor"
    assert b"Traceback" not in response.data and b"connection reset" not in response.data
    (message,) = _messages(gw)
    assert message.request_id == response.headers["X-Request-Id"]
    assert (message.service, message.channel, message.endpoint_version) == (
        "tissLoteGuias",
        "soap",
        "4.03.00",
    )
    assert (message.outcome, message.fault) == ("error", "ErroInesperadoServidor")
    assert b"ErroInesperadoServidor" in message.raw_response
    record = _logged(
        caplog,
        "gateway.services.answers",
        f"unexpected failure handling tissLoteGuias request {message.request_id}",
    )
    assert isinstance(record.exc_info[1], ConnectionResetError)


def test_unexpected_error_after_the_envelope_was_read_archives_its_bytes(client, gw, monkeypatch):
    from gateway.soap import protocol

    def parser_crash(*_args, **_kwargs):
        raise MemoryError

    monkeypatch.setattr(protocol, "parse_untrusted", parser_crash)
    sent = envelope(_lot("MEM1"))

    answer = post(client, None, raw=sent)

    assert answer.tiss_fault == "ErroInesperadoServidor"
    (message,) = _messages(gw)
    assert message.outcome == "error"
    assert message.raw_request == sent and message.request_size == len(sent)


def _candidate(gw) -> tuple[str, str]:
    """A credentialing candidate's portal account, which has an e-mail: (login, e-mail)."""
    form = ps.registration_form()
    registration.start(gw.db, form, ps.now(), ps.ORIGIN)
    return ps.CANDIDATE_CNPJ, form["email"]


def _fail_until_locked(client, login: str):
    for _ in range(policy.MAX_FAILURES - 1):
        assert ps.login(client, login, WRONG_PASSWORD).status_code == 401
    return ps.login(client, login, WRONG_PASSWORD)


def _outbox(gw) -> list:
    folder = mail.outbox_dir(gw.settings.var_dir)
    return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def _locked_until(gw, login: str):
    with gw.db.reading() as session:
        return session.scalar(select(Account.locked_until).where(Account.login == login))


def test_owner_is_emailed_when_repeated_failures_lock_the_account(client, gw):
    login, email = _candidate(gw)
    for _ in range(policy.MAX_FAILURES - 1):
        assert ps.login(client, login, WRONG_PASSWORD).status_code == 401
    assert _outbox(gw) == []  # not before the lock

    locking = ps.login(client, login, WRONG_PASSWORD)

    assert locking.status_code == 401 and policy.BAD_LOGIN in ps.text(locking)
    (sent,) = _outbox(gw)
    assert sent["To"] == email
    assert sent["Subject"] == "Acesso bloqueado temporariamente"
    text = sent.get_payload(decode=True).decode()
    assert login in text and f"{policy.MAX_FAILURES} tentativas" in text
    assert f"{int(policy.LOCK_TIME.total_seconds() // 60)} minutos" in text
    assert _locked_until(gw, login) is not None


class _UnreachableSMTP:
    def __init__(self, host, port, timeout):
        raise ConnectionRefusedError(111, "Connection refused")


def test_lock_email_that_cannot_be_sent_is_logged_and_the_login_still_fails(
    gw, monkeypatch, caplog
):
    portal = replace(ps.PORTAL_SETTINGS, mail=MailSettings(smtp_host="smtp.example"))
    client = Client(build_app(replace(gw, settings=replace(gw.settings, portal=portal))))
    monkeypatch.setattr(mail.smtplib, "SMTP", _UnreachableSMTP)
    login, _ = _candidate(gw)

    locking = _fail_until_locked(client, login)

    assert locking.status_code == 401 and policy.BAD_LOGIN in ps.text(locking)
    assert "Traceback" not in ps.text(locking)
    record = _logged(
        caplog, "gateway.services.accounts.authentication", f"could not tell {login} about"
    )
    assert isinstance(record.exc_info[1], ConnectionRefusedError)
    assert _locked_until(gw, login) is not None
    # Locked all the same: the right password is refused too.
    assert ps.login(client, login, ps.CANDIDATE_PASSWORD).status_code == 401


@pytest.mark.parametrize(
    "typed", ["", "   ", "a" * 250 + "@x.com.br"], ids=["empty", "blank", "over-254"]
)
def test_blank_or_overlong_login_is_refused_with_the_generic_message(client, gw, typed):
    response = ps.login(client, typed, ps.CANDIDATE_PASSWORD)

    assert response.status_code == 401 and policy.BAD_LOGIN in ps.text(response)
    with gw.db.reading() as session:
        entry = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert (entry.event, entry.account_id) == ("login_failed", None)
    assert entry.login == (typed[:254] or None)


def test_index_lists_each_service_of_each_accepted_version(client, gw):
    index = client.get("/").get_json()

    assert index["service"] == "tiss-gateway" and index["registroANS"] == REGISTRO_ANS
    assert set(index["endpoints"]) == set(gw.settings.accepted_versions)
    assert index["endpoints"]["4.03.00"]["tissLoteGuias"] == (
        "http://localhost/tiss/v40300/tissLoteGuias"
    )
    assert all(len(services) == 4 for services in index["endpoints"].values())


PROXY_ADDR = "10.0.0.5"
PROXY_HEADERS = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "tiss.operadora.example",
}


def _post_through(client, payload):
    """POST a lot as the reverse proxy at PROXY_ADDR passes it on."""
    response = client.post(
        LOTE,
        data=envelope(payload),
        headers={**SOAP_HEADERS, **PROXY_HEADERS},
        environ_base={"REMOTE_ADDR": PROXY_ADDR},
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )


def test_proxy_headers_are_ignored_unless_trusted(client, gw):
    index = client.get("/", headers=PROXY_HEADERS).get_json()
    assert index["endpoints"]["4.03.00"]["tissLoteGuias"].startswith("http://localhost/")

    _post_through(client, _lot("PX0"))
    assert _messages(gw)[-1].remote_addr == PROXY_ADDR


def test_create_app_behind_a_trusted_proxy_takes_the_forwarded_host_and_address(
    gw, database_url, tmp_path
):
    app = create_app(
        make_settings(database_url, tmp_path, trust_proxy=True, portal=ps.PORTAL_SETTINGS)
    )
    started = app.app.app.gw  # ProxyFix -> Observed -> GatewayApp
    try:
        client = Client(app)
        index = client.get("/", headers=PROXY_HEADERS).get_json()
        assert index["endpoints"]["4.03.00"]["tissLoteGuias"] == (
            "https://tiss.operadora.example/tiss/v40300/tissLoteGuias"
        )
        answer = _post_through(client, _lot("PX1"))
        assert answer.protocol
        assert _messages(gw)[-1].remote_addr == "203.0.113.7"
    finally:
        started.db.dispose()


def test_get_of_an_unknown_service_is_not_found(client):
    response = client.get("/tiss/v40300/tissNaoExiste?wsdl")
    assert response.status_code == 404
    assert b"Traceback" not in response.data


def test_get_of_a_service_without_wsdl_says_to_post(client):
    response = client.get("/tiss/v40300/tissLoteGuias")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == (
        "tissLoteGuias 4.03.00: envie mensagens SOAP 1.1 por POST; WSDL em ?wsdl\n"
    )


def test_readiness_fails_without_an_operator(client, gw):
    with gw.db.transaction() as session:
        session.execute(delete(Operator))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "operator": "not configured"}


def test_readiness_fails_when_an_accepted_version_has_no_schema_set(gw):
    versions = (*gw.settings.accepted_versions, "4.01.00")
    unready = replace(gw, settings=replace(gw.settings, accepted_versions=versions))

    response = Client(build_app(unready)).get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["schemas"]["4.01.00"] == "missing"
    assert {body["schemas"][v] for v in gw.settings.accepted_versions} == {"compiled"}
