"""Test helpers acting as the operator's scripts: a zeep client of the back-office API (HTTP
Basic or WS-Security UsernameToken) that validates every answer it receives, faults included,
against the project's own XSD, read straight from xsd/ (not through the gateway's code)."""

import base64
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import requests
import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.plugins import Plugin
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from gateway.tiss.namespaces import SOAP11_ENV

XSD = Path(__file__).resolve().parents[1] / "xsd" / "tissGatewayBackOffice.xsd"
BO = "urn:tiss-gateway:backoffice:v1"
NS = {"bo": BO, "soapenv": SOAP11_ENV}
PATH = "/backoffice/v1"


@dataclass(frozen=True)
class Staff:
    login: str
    password: str


STAFF = Staff("operador.ana", "Oper@dor2026")


@cache
def backoffice_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def assert_valid(element: etree._Element) -> None:
    schema = backoffice_schema()
    assert schema.validate(element), f"invalid under {XSD.name}: {schema.error_log}"


def body_content(envelope: etree._Element) -> etree._Element:
    """The answer element, or for a fault its backOfficeFault detail, validated."""
    assert envelope.tag == f"{{{SOAP11_ENV}}}Envelope"
    content = envelope.find(f"{{{SOAP11_ENV}}}Body")[0]
    if content.tag == f"{{{SOAP11_ENV}}}Fault":
        detail = content.find("detail")
        assert detail is not None and len(detail) == 1, etree.tostring(content)
        content = detail[0]
        assert content.tag == f"{{{BO}}}backOfficeFault"
    assert_valid(content)
    return content


class Validating(Plugin):
    """Every envelope zeep receives: its content is checked against the XSD before zeep reads
    it, so a test cannot pass on an answer the schema refuses."""

    def __init__(self) -> None:
        self.last: etree._Element | None = None

    def ingress(self, envelope, http_headers, operation):
        self.last = body_content(envelope)
        return envelope, http_headers


def make_client(
    server_url: str, staff: Staff | None = STAFF, *, auth: str = "wsse"
) -> tuple[zeep.Client, Validating]:
    """A zeep client built from the WSDL the gateway publishes."""
    session = requests.Session()
    wsse = None
    if staff is not None and auth == "basic":
        session.auth = (staff.login, staff.password)
    elif staff is not None:
        wsse = UsernameToken(staff.login, staff.password)
    plugin = Validating()
    client = zeep.Client(
        f"{server_url}{PATH}?wsdl",
        transport=Transport(session=session),
        wsse=wsse,
        plugins=[plugin],
    )
    return client, plugin


def fault_of(call, *args, **kwargs) -> tuple[str, str]:
    """Call a zeep operation expecting a fault: (categoria, mensagem) of its detail."""
    try:
        call(*args, **kwargs)
    except Fault as fault:
        detail = fault.detail.find("bo:backOfficeFault", NS)
        assert detail.findtext("bo:mensagem", namespaces=NS) == fault.message
        return detail.findtext("bo:categoria", namespaces=NS), fault.message
    raise AssertionError("expected a SOAP fault")


def raw_post(server_url: str, body: bytes, staff: Staff | None = STAFF) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
    if staff is not None:
        token = base64.b64encode(f"{staff.login}:{staff.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return requests.post(f"{server_url}{PATH}", data=body, headers=headers, timeout=30)


def envelope(payload: str, header: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENV}" xmlns:bo="{BO}">'
        f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>{payload}</soapenv:Body>"
        f"</soapenv:Envelope>"
    ).encode()


def fault_detail(response: requests.Response) -> tuple[str, str]:
    """(categoria, mensagem) of a raw HTTP fault answer, validated against the XSD."""
    assert response.status_code == 500, response.content[:300]
    assert response.headers["Content-Type"].startswith("text/xml")
    detail = body_content(etree.fromstring(response.content))
    assert detail.tag == f"{{{BO}}}backOfficeFault", response.content[:300]
    return detail.findtext("bo:categoria", namespaces=NS), detail.findtext(
        "bo:mensagem", namespaces=NS
    )


def send_lot(client, provider, numero_lote: str, count: int = 2, **overrides) -> str:
    """A provider's lot of SP/SADT guides (two items each), accepted by the gateway through its
    TISS endpoint; returns the protocol number."""
    from gateway.tiss.samples import lote_guias_ws
    from tests.conftest import REGISTRO_ANS
    from tests.tissclient import post, sample_lot

    overrides.setdefault("guide_type", "guiaSP-SADT")
    lot = sample_lot(provider, numero_lote, count, registro_ans=REGISTRO_ANS, **overrides)
    answer = post(client, lote_guias_ws(lot))
    assert answer.protocol, answer.raw[:500]
    return answer.protocol


def stored_protocol(gw, numero: str):
    """The protocol row with its history, guides, items and glosas loaded."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from storage import models

    with gw.db.reading() as s:
        return s.scalar(
            select(models.Protocol)
            .where(models.Protocol.numero == numero)
            .options(
                selectinload(models.Protocol.history),
                selectinload(models.Protocol.lot)
                .selectinload(models.Lot.guides)
                .selectinload(models.Guide.items),
                selectinload(models.Protocol.lot)
                .selectinload(models.Lot.guides)
                .selectinload(models.Guide.glosas),
            )
        )


def force_status(gw, numero: str, status: int, *, analysed: bool = False) -> None:
    """Put a protocol in a state directly in the database (test set-up only)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from storage import models

    values = {"status": status}
    if analysed:
        values["analyzed_at"] = datetime.now(UTC)
    with gw.db.transaction() as s:
        s.execute(update(models.Protocol).where(models.Protocol.numero == numero).values(values))
