"""The back-office endpoint itself: its WSDL and XSD over HTTP, who may call it (staff by HTTP
Basic or WS-Security UsernameToken; nobody else), and how it answers what it cannot process:
always a SOAP fault with a backOfficeFault detail valid under the XSD, never a traceback."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import requests
from lxml import etree
from sqlalchemy import select, update
from zeep.wsse.username import UsernameToken

from gateway.services.backoffice import protocols as bo_protocols
from storage import models
from tests.backoffice_client import (
    NS,
    PATH,
    STAFF,
    XSD,
    Staff,
    body_content,
    envelope,
    fault_detail,
    fault_of,
    make_client,
    raw_post,
    send_lot,
)
from tests.conftest import PROVIDER_A

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
OPERATIONS = {
    "listarMensagens",
    "obterMensagem",
    "listarLotes",
    "obterProtocolo",
    "alterarStatusProtocolo",
    "registrarAnalise",
    "registrarPagamento",
    "carregarBeneficiarios",
    "listarSolicitacoesCredenciamento",
    "obterSolicitacaoCredenciamento",
    "obterDocumentoCredenciamento",
    "decidirSolicitacaoCredenciamento",
}
SINCE = datetime(2020, 1, 1, tzinfo=UTC)
BAD_LOGIN = "login ou senha inválidos"


# --- WSDL and XSD ------------------------------------------------------------------------------


def test_wsdl_points_at_this_gateway_and_its_xsd(gw, server_url):
    response = requests.get(f"{server_url}{PATH}?wsdl", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    wsdl = etree.fromstring(response.content)
    w = {"w": WSDL_NS, "soap": SOAP_NS, "xsd": "http://www.w3.org/2001/XMLSchema"}
    address = wsdl.find("w:service/w:port/soap:address", w).get("location")
    assert address == f"{server_url}{PATH}"
    location = wsdl.find("w:types/xsd:schema/xsd:import", w).get("schemaLocation")
    assert location == f"{server_url}{PATH}/tissGatewayBackOffice.xsd"
    assert {op.get("name") for op in wsdl.findall("w:portType/w:operation", w)} == OPERATIONS
    binding = wsdl.find("w:binding/soap:binding", w)
    assert binding.get("style") == "document"
    uses = {b.get("use") for b in wsdl.iterfind(".//w:binding//soap:body", w)}
    assert uses == {"literal"}

    xsd = requests.get(location, timeout=10)
    assert xsd.status_code == 200
    assert xsd.content == XSD.read_bytes()


def test_every_wsdl_operation_has_its_elements_in_the_xsd(gw, server_url):
    client, _ = make_client(server_url)
    operations = (
        client.wsdl.services["tissGatewayBackOffice"]
        .ports["tissGatewayBackOffice_Port"]
        .binding._operations
    )
    assert set(operations) == OPERATIONS
    for name, operation in operations.items():
        assert operation.input.body.qname.localname == name
        assert operation.output.body.qname.localname == f"{name}Resposta"


def test_get_without_wsdl_is_405(gw, server_url):
    response = requests.get(f"{server_url}{PATH}", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["basic", "wsse"])
def test_staff_authenticates_by_basic_or_username_token(gw, server_url, client, staff, auth):
    numero = send_lot(client, PROVIDER_A, "AUTH1")
    zeep_client, plugin = make_client(server_url, staff, auth=auth)

    protocolo = zeep_client.service.obterProtocolo(numeroProtocolo=numero)

    assert protocolo.numeroProtocolo == numero
    assert plugin.last.tag == f"{{{NS['bo']}}}obterProtocoloResposta"
    with gw.db.reading() as s:
        account = s.scalar(select(models.Account).where(models.Account.login == STAFF.login))
        assert account.last_login_at is not None and account.failed_attempts == 0


@pytest.mark.parametrize("auth", ["basic", "wsse"])
@pytest.mark.parametrize(
    "who",
    [
        Staff(STAFF.login, "Errada@2026"),  # wrong password
        Staff("ninguem", STAFF.password),  # unknown login
        Staff(PROVIDER_A.cnpj, PROVIDER_A.password),  # a provider's web-service account
    ],
    ids=["wrong-password", "unknown-login", "provider-account"],
)
def test_refused_logins_get_one_generic_fault(gw, server_url, staff, auth, who):
    zeep_client, _ = make_client(server_url, who, auth=auth)
    assert fault_of(zeep_client.service.listarMensagens, desde=SINCE) == (
        "AutenticacaoInvalida",
        BAD_LOGIN,
    )


def test_no_credentials_is_refused(gw, server_url, staff):
    zeep_client, _ = make_client(server_url, None)
    category, message = fault_of(zeep_client.service.listarMensagens, desde=SINCE)
    assert category == "AutenticacaoInvalida"
    assert "UsernameToken" in message and "Basic" in message


def test_password_digest_is_refused(gw, server_url, staff):
    zeep_client, _ = make_client(server_url, None)
    zeep_client.wsse = UsernameToken(STAFF.login, STAFF.password, use_digest=True)
    category, message = fault_of(zeep_client.service.listarMensagens, desde=SINCE)
    assert category == "AutenticacaoInvalida" and "PasswordText" in message


def test_malformed_basic_header_is_refused(gw, server_url, staff):
    body = envelope(
        f"<bo:listarMensagens><bo:desde>{SINCE.isoformat()}</bo:desde></bo:listarMensagens>"
    )
    response = requests.post(
        f"{server_url}{PATH}",
        data=body,
        timeout=10,
        headers={"Content-Type": "text/xml", "Authorization": "Basic %%%"},
    )
    assert fault_detail(response)[0] == "AutenticacaoInvalida"


def test_five_failures_lock_the_account_for_five_minutes(gw, server_url, staff):
    wrong, _ = make_client(server_url, Staff(STAFF.login, "Errada@2026"), auth="basic")
    for _ in range(5):
        assert fault_of(wrong.service.listarMensagens, desde=SINCE)[0] == "AutenticacaoInvalida"
    right, _ = make_client(server_url, STAFF, auth="basic")
    # Locked: even the right password gets the same generic answer.
    assert fault_of(right.service.listarMensagens, desde=SINCE) == (
        "AutenticacaoInvalida",
        BAD_LOGIN,
    )
    with gw.db.transaction() as s:
        account = s.scalar(select(models.Account).where(models.Account.login == STAFF.login))
        assert account.locked_until is not None
        account.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    assert right.service.listarMensagens(desde=SINCE).mensagem == []


def test_inactive_staff_is_refused(gw, server_url, staff):
    with gw.db.transaction() as s:
        s.execute(
            update(models.Account).where(models.Account.login == STAFF.login).values(active=False)
        )
    zeep_client, _ = make_client(server_url)
    assert fault_of(zeep_client.service.listarMensagens, desde=SINCE) == (
        "AutenticacaoInvalida",
        BAD_LOGIN,
    )


# --- what cannot be processed -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"not xml at all", "XML malformado"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soapenv:Body>&e;</soapenv:Body></soapenv:Envelope>",
            "DTD",
        ),
        (b'<x:Envelope xmlns:x="urn:other"><x:Body/></x:Envelope>', "envelope SOAP 1.1"),
        (envelope(""), "exatamente um elemento"),
        (envelope("<bo:apagarTudo/>"), "operação desconhecida: apagarTudo"),
        (envelope("<listarMensagens/>"), "operação desconhecida: listarMensagens"),
    ],
    ids=["not-xml", "dtd", "not-soap", "empty-body", "unknown-operation", "no-namespace"],
)
def test_unreadable_requests_are_client_faults(gw, server_url, staff, body, expected):
    category, message = fault_detail(raw_post(server_url, body))
    assert category == "RequisicaoInvalida"
    assert expected in message


def test_schema_errors_are_all_reported(gw, server_url, staff):
    body = envelope(
        "<bo:listarMensagens><bo:desde>ontem</bo:desde><bo:limite>501</bo:limite>"
        "</bo:listarMensagens>"
    )
    category, message = fault_detail(raw_post(server_url, body))
    assert category == "RequisicaoInvalida"
    assert "2 erro(s)" in message and "desde" in message and "limite" in message


def test_authentication_comes_before_validation(gw, server_url, staff):
    body = envelope("<bo:listarMensagens><bo:desde>ontem</bo:desde></bo:listarMensagens>")
    category, _ = fault_detail(raw_post(server_url, body, Staff(STAFF.login, "Errada@2026")))
    assert category == "AutenticacaoInvalida"


def test_credentials_in_header_with_wsse_over_raw_http(gw, server_url, staff):
    header = (
        '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
        f"<wsse:Username>{STAFF.login}</wsse:Username>"
        f"<wsse:Password>{STAFF.password}</wsse:Password>"  # Type omitted: PasswordText
        "</wsse:UsernameToken></wsse:Security>"
    )
    body = envelope(
        f"<bo:listarLotes><bo:desde>{SINCE.isoformat()}</bo:desde></bo:listarLotes>", header
    )
    response = raw_post(server_url, body, None)
    assert response.status_code == 200
    answer = body_content(etree.fromstring(response.content))  # validated against the XSD
    assert answer.tag == f"{{{NS['bo']}}}listarLotesResposta"


def test_unexpected_failure_is_a_generic_server_fault(
    gw, server_url, client, staff, monkeypatch, caplog
):
    def broken(db, numero):
        raise RuntimeError("segredo interno: senha do banco")

    monkeypatch.setattr(bo_protocols, "get_protocol", broken)
    monkeypatch.setattr("gateway.soap.backoffice.queries.get_protocol", broken)
    numero = send_lot(client, PROVIDER_A, "BROKEN")
    body = envelope(
        f"<bo:obterProtocolo><bo:numeroProtocolo>{numero}</bo:numeroProtocolo></bo:obterProtocolo>"
    )

    response = raw_post(server_url, body)

    category, message = fault_detail(response)
    assert category == "ErroInesperadoServidor"
    assert b"segredo" not in response.content and b"Traceback" not in response.content
    fault = etree.fromstring(response.content).find(".//soapenv:Fault", NS)
    assert fault.findtext("faultcode").endswith("Server")
    assert "segredo interno" in caplog.text  # logged for the operator, not answered


def test_password_never_reaches_the_log(gw, server_url, staff, caplog):
    caplog.set_level("DEBUG")
    wrong = Staff(STAFF.login, "Vaz@mento#123")
    zeep_client, _ = make_client(server_url, wrong, auth="basic")
    fault_of(zeep_client.service.listarMensagens, desde=SINCE)
    token = base64.b64encode(f"{wrong.login}:{wrong.password}".encode()).decode()
    assert wrong.password not in caplog.text and token not in caplog.text
    assert STAFF.login in caplog.text
