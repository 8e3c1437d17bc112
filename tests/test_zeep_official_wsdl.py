"""A real SOAP toolkit (zeep) talks to the gateway over real HTTP: once with the OFFICIAL ANS WSDL
(address overridden, as a provider's system would do) and once with the WSDL the gateway itself
publishes at `?wsdl`, whose schema imports must resolve over HTTP from the gateway.

Every answer is also read from the raw bytes on the wire and validated against the official XSD.
"""

import hashlib
import http.client
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import zeep
from lxml import etree
from sqlalchemy import select
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

from gateway.tiss.hashing import message_hash
from gateway.tiss.namespaces import ANS, service_namespace
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import NS, assert_official, leaf_md5, read_answer, sample_lot

OFFICIAL_TISS = Path(__file__).resolve().parents[2] / "shared" / "tiss"
OFFICIAL_WSDL_403 = OFFICIAL_TISS / "wsdl" / "4.03.00" / "tissLoteGuiasV4_03_00.wsdl"
SERVICE = "tissLoteGuias"
OPERATION = "tissLoteGuias_Operation"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
# xmldsig-core-schema.xsd, imported by the official schemas, carries an internal DTD.
ZEEP_SETTINGS = zeep.Settings(forbid_entities=False)
# shared/docs/TISS.md, from the ANS package PadroTISSComunicao_202511.zip.
TISSV4_03_00_SHA256 = "d4c421c7e3cf936551b70d6bd794a419867b6daea554d557b4d928363c54044c"


class RecordingTransport(Transport):
    """zeep's own HTTP transport, keeping what crossed the wire: every URL zeep loaded (WSDL and
    schemas) and the last HTTP answer, byte for byte, with its status and Content-Type."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.last_response: requests.Response | None = None

    def load(self, url):
        self.loaded.append(url)
        return super().load(url)

    def post(self, address, message, headers):
        self.last_response = super().post(address, message, headers)
        return self.last_response


def zeep_client(wsdl: str) -> tuple[zeep.Client, RecordingTransport, HistoryPlugin]:
    transport, history = RecordingTransport(), HistoryPlugin()
    client = zeep.Client(wsdl, settings=ZEEP_SETTINGS, transport=transport, plugins=[history])
    return client, transport, history


def zeep_parts(client: zeep.Client, service, lot, **changes) -> dict:
    """The lot as zeep objects, with a hash computed over the element zeep will actually send.

    How the lot goes through zeep: the sample builder writes a realistic loteGuiasWS; zeep's own
    type for that element (from the WSDL's schemas) parses it into zeep objects, and those
    objects are passed as the operation's arguments, so zeep's serializer writes the XML and its
    transport posts it. `changes` alters fields on the zeep objects afterwards, which makes the
    sample's hash stale: the hash is recomputed with gateway.tiss.hashing over the loteGuiasWS
    that `client.create_message` renders, i.e. exactly what zeep puts in the Body.
    """
    element_type = client.get_element(f"{{{ANS}}}loteGuiasWS")
    obj = element_type.parse(lote_guias_ws(lot), client.wsdl.types)
    for path, value in changes.items():
        target = obj
        *parents, leaf = path.split(".")
        for name in parents:
            target = getattr(target, name)
        setattr(target, leaf, value)
    parts = {"cabecalho": obj.cabecalho, "loteGuias": obj.loteGuias, "hash": "0" * 32}
    rendered = client.create_message(service, OPERATION, **parts)
    parts["hash"] = message_hash(rendered.find(f".//{{{ANS}}}loteGuiasWS"))
    return parts


def _body_content(envelope: etree._Element) -> etree._Element:
    return envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]


def sent_payload(history: HistoryPlugin) -> etree._Element:
    return _body_content(history.last_sent["envelope"])


def wire_answer(transport: RecordingTransport, endpoint_version: str):
    """The last HTTP answer, parsed and validated against the official XSD by tissclient."""
    response = transport.last_response
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.content, endpoint_version
    )


def protocol_in_db(gw, numero: str) -> models.Protocol | None:
    with gw.db.reading() as s:
        return s.scalar(select(models.Protocol).where(models.Protocol.numero == numero))


def lot_of(provider, numero: str, count: int = 2, **kw):
    return sample_lot(provider, numero, count, registro_ans=REGISTRO_ANS, **kw)


# --- a. the official 4.03.00 WSDL -------------------------------------------------------------


def test_official_wsdl_client_gets_a_protocol(gw, server_url):
    client, transport, history = zeep_client(str(OFFICIAL_WSDL_403))
    binding = f"{{{service_namespace(SERVICE, '4.03.00')}}}{SERVICE}_Binding"
    service = client.create_service(binding, f"{server_url}/tiss/v40300/{SERVICE}")
    # numeroLote changed on zeep's objects: only a hash over zeep's own XML can be right.
    parts = zeep_parts(
        client, service, lot_of(PROVIDER_A, "1001", 3), **{"loteGuias.numeroLote": "ZEEP-1"}
    )

    result = service.tissLoteGuias_Operation(**parts)

    sent = sent_payload(history)
    assert sent.tag == f"{{{ANS}}}loteGuiasWS"
    assert sent.findtext("ans:loteGuias/ans:numeroLote", namespaces=NS) == "ZEEP-1"
    assert sent.findtext("ans:hash", namespaces=NS) == leaf_md5(sent)  # independent recompute

    receipt = result.recebimentoLote.protocoloRecebimento
    numero = receipt.detalheProtocolo.numeroProtocolo
    assert numero
    assert receipt.numeroLote == "ZEEP-1"
    assert receipt.detalheProtocolo.valorTotalProtocolo == Decimal("450.00")
    assert result.cabecalho.Padrao == "4.03.00"
    assert result.cabecalho.identificacaoTransacao.tipoTransacao == "PROTOCOLO_RECEBIMENTO"

    stored = protocol_in_db(gw, numero)
    assert stored is not None, f"protocol {numero} from zeep's answer is not in the database"
    with gw.db.reading() as s:
        lot = s.get(models.Lot, stored.lot_id)
        assert lot.numero_lote == "ZEEP-1" and lot.guide_count == 3

    # What zeep received (HistoryPlugin) and the bytes on the wire are both officially valid.
    assert_official(_body_content(history.last_received["envelope"]), "4.03.00")
    answer = wire_answer(transport, "4.03.00")
    assert answer.status == 200 and not answer.is_fault
    assert answer.protocol == numero


# --- b. the gateway's own 4.03.00 WSDL --------------------------------------------------------


def _qname(element: etree._Element, attribute: str) -> str | None:
    """A QName-valued attribute (e.g. element="ans:loteGuiasWS") in Clark notation."""
    value = element.get(attribute)
    if value is None:
        return None
    prefix, _, local = value.rpartition(":")
    return f"{{{element.nsmap[prefix or None]}}}{local}"


def wsdl_shape(root: etree._Element) -> dict:
    """Everything a SOAP client binds to: names and namespaces of services, ports, bindings,
    operations, messages and parts, the soap style/use/action, and the imported schema."""
    w = {"w": WSDL_NS, "soap": WSDL_SOAP_NS, "xsd": XSD_NS}

    def operations(parent, extra):
        return {op.get("name"): extra(op) for op in parent.findall("w:operation", w)}

    def port_type_op(op):
        return sorted((etree.QName(c).localname, c.get("name"), _qname(c, "message")) for c in op)

    def binding_op(op):
        return (
            op.find("soap:operation", w).get("soapAction"),
            sorted(
                (
                    etree.QName(c).localname,
                    c.get("name"),
                    [(etree.QName(s).localname, s.get("use"), s.get("name")) for s in c],
                )
                for c in op
                if etree.QName(c).localname != "operation"
            ),
        )

    return {
        "name": root.get("name"),
        "targetNamespace": root.get("targetNamespace"),
        "imports": sorted(
            (i.get("namespace"), i.get("schemaLocation").rsplit("/", 1)[-1])
            for i in root.iterfind("w:types/xsd:schema/xsd:import", w)
        ),
        "messages": {
            m.get("name"): [(p.get("name"), _qname(p, "element")) for p in m.findall("w:part", w)]
            for m in root.findall("w:message", w)
        },
        "portTypes": {
            pt.get("name"): operations(pt, port_type_op) for pt in root.findall("w:portType", w)
        },
        "bindings": {
            b.get("name"): (
                _qname(b, "type"),
                b.find("soap:binding", w).get("style"),
                b.find("soap:binding", w).get("transport"),
                operations(b, binding_op),
            )
            for b in root.findall("w:binding", w)
        },
        "services": {
            s.get("name"): {p.get("name"): _qname(p, "binding") for p in s.findall("w:port", w)}
            for s in root.findall("w:service", w)
        },
    }


def official_shape(version: str) -> dict:
    """The official WSDL's shape; 4.02.00 is the 4.03.00 WSDL with its version strings replaced
    (see shared/tiss/README.md), as ANS publishes no 4.02.00 WSDL we have."""
    text = OFFICIAL_WSDL_403.read_bytes()
    if version == "4.02.00":
        text = text.replace(b"v40300", b"v40200").replace(b"V4_03_00", b"V4_02_00")
    return wsdl_shape(etree.fromstring(text))


def soap_address(root: etree._Element) -> str:
    return root.find(f".//{{{WSDL_NS}}}port/{{{WSDL_SOAP_NS}}}address").get("location")


@pytest.mark.parametrize("version, slug", [("4.03.00", "v40300"), ("4.02.00", "v40200")])
def test_gateway_wsdl_has_the_official_shape(gw, server_url, version, slug):
    response = requests.get(f"{server_url}/tiss/{slug}/{SERVICE}?wsdl", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    published = etree.fromstring(response.content)

    shape = wsdl_shape(published)
    assert shape == official_shape(version)
    assert shape["targetNamespace"] == service_namespace(SERVICE, version)
    assert soap_address(published) == f"{server_url}/tiss/{slug}/{SERVICE}"
    schema_location = published.find(f".//{{{XSD_NS}}}import").get("schemaLocation")
    assert (
        schema_location == f"{server_url}/tiss/{slug}/schemas/tissWebServicesV"
        f"{version.replace('.', '_')}.xsd"
    )


def test_gateway_wsdl_client_gets_a_protocol_without_address_override(gw, server_url):
    wsdl_url = f"{server_url}/tiss/v40300/{SERVICE}?wsdl"
    client, transport, history = zeep_client(wsdl_url)

    # The schema import resolved over HTTP from the gateway, nothing from elsewhere.
    schemas = f"{server_url}/tiss/v40300/schemas/"
    assert transport.loaded[0] == wsdl_url
    assert f"{schemas}tissWebServicesV4_03_00.xsd" in transport.loaded
    assert f"{schemas}xmldsig-core-schema.xsd" in transport.loaded
    assert all(url.startswith(schemas) for url in transport.loaded[1:]), transport.loaded

    port = client.wsdl.services[SERVICE].ports[f"{SERVICE}_Port"]
    assert port.binding_options["address"] == f"{server_url}/tiss/v40300/{SERVICE}"

    parts = zeep_parts(client, client.service, lot_of(PROVIDER_B, "2002"))
    result = client.service.tissLoteGuias_Operation(**parts)

    numero = result.recebimentoLote.protocoloRecebimento.detalheProtocolo.numeroProtocolo
    assert protocol_in_db(gw, numero) is not None
    assert wire_answer(transport, "4.03.00").protocol == numero
    assert sent_payload(history).findtext("ans:hash", namespaces=NS) == parts["hash"]


# --- c. 4.02.00 through the gateway's 4.02.00 WSDL --------------------------------------------


def test_gateway_wsdl_v40200_client_submits_a_402_lot(gw, server_url):
    client, transport, _history = zeep_client(f"{server_url}/tiss/v40200/{SERVICE}?wsdl")
    assert f"{server_url}/tiss/v40200/schemas/tissWebServicesV4_02_00.xsd" in transport.loaded

    parts = zeep_parts(client, client.service, lot_of(PROVIDER_A, "4020", version="4.02.00"))
    result = client.service.tissLoteGuias_Operation(**parts)

    assert result.cabecalho.Padrao == "4.02.00"
    numero = result.recebimentoLote.protocoloRecebimento.detalheProtocolo.numeroProtocolo
    stored = protocol_in_db(gw, numero)
    assert stored is not None
    with gw.db.reading() as s:
        assert s.get(models.Lot, stored.lot_id).version == "4.02.00"
    answer = wire_answer(transport, "4.02.00")  # valid under the official 4.02.00 XSD
    assert answer.text("ans:cabecalho/ans:Padrao") == "4.02.00"


# --- d. a tissFault through zeep ---------------------------------------------------------------


def test_wrong_password_is_a_zeep_fault_with_login_invalido(gw, server_url):
    client, transport, _history = zeep_client(f"{server_url}/tiss/v40300/{SERVICE}?wsdl")
    wrong = hashlib.md5(b"not-the-password").hexdigest()
    parts = zeep_parts(client, client.service, lot_of(PROVIDER_A, "3003", senha_md5=wrong))

    with pytest.raises(Fault) as caught:
        client.service.tissLoteGuias_Operation(**parts)

    fault = caught.value
    assert fault.message.startswith("5005"), fault.message
    assert fault.detail is not None
    assert fault.detail.findtext("ans:tissFaultWS/ans:tissFault", namespaces=NS) == "LoginInvalido"
    answer = wire_answer(transport, "4.03.00")  # detail valid under the official XSD
    assert answer.status == 500 and answer.tiss_fault == "LoginInvalido"
    with gw.db.reading() as s:
        assert s.scalar(select(models.Lot)) is None


# --- e. the schema files the WSDL imports ------------------------------------------------------


def raw_get(server_url: str, path: str) -> int:
    """GET a path exactly as written: no client-side normalisation of %2F or '..'."""
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_schema_file_is_served_byte_exact(gw, server_url):
    response = requests.get(f"{server_url}/tiss/v40300/schemas/tissV4_03_00.xsd", timeout=10)
    assert response.status_code == 200
    official = OFFICIAL_TISS / "schemas" / "4.03.00" / "tissV4_03_00.xsd"
    assert response.content == official.read_bytes()
    assert hashlib.sha256(response.content).hexdigest() == TISSV4_03_00_SHA256


NOT_SERVED = [
    "/tiss/v40300/schemas/unknown.xsd",
    "/tiss/v40300/schemas/provenance.json",  # beside the schemas in the package, not served
    "/tiss/v40300/schemas/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/tiss/v40300/schemas/..%2Fprovenance.json",
    "/tiss/v40300/schemas/../../../../etc/passwd",
    "/tiss/v40300/schemas/%2Fetc%2Fpasswd",
    "/tiss/v40300/schemas/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/tiss/v40100/schemas/tissV4_01_00.xsd",  # 4.01.00 is not accepted by this gateway
    "/tiss/v40100/schemas/tissV4_03_00.xsd",
    "/tiss/v99999/schemas/tissV4_03_00.xsd",
    "/tiss/vXYZ/schemas/tissV4_03_00.xsd",
    "/tiss/v40100/tissLoteGuias?wsdl",
]


def test_unknown_or_traversing_or_unaccepted_paths_are_404(gw, server_url):
    statuses = {path: raw_get(server_url, path) for path in NOT_SERVED}
    assert statuses == dict.fromkeys(NOT_SERVED, 404)
