"""The HTTP and SOAP envelope layer of the TISS web services, fed what hospital systems really
send: compressed and chunked bodies, every charset label (right, wrong and missing), UTF-16 and
byte-order marks, SOAPAction in every form, SOAP 1.2 and MTOM, headers with mustUnderstand and
WS-Security, the envelope shapes of .NET, JAX-WS and Delphi, comments and stray whitespace, other
HTTP methods and `?wsdl` spellings, `Expect: 100-continue` and several requests on one connection.

Each case is judged the way the provider and the operator would: the TISS answer (validated
against the official ANS schema by tests/tissclient) or a clear HTTP status, the table-38 code,
and the archive (table `messages`), which must hold every message received as it arrived.

Most cases run in process (werkzeug's test client); those that depend on the HTTP server run
against `tiss-gateway serve` (gunicorn, the production server) on a free local port."""

import gzip
import http.client
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gateway.services.provider_area import files
from gateway.tiss.hashing import message_hash
from gateway.tiss.namespaces import ANS, SOAP11_ENV, SOAP12_ENV, q
from gateway.tiss.samples import guides as sample_guides
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import assert_official, envelope, read_answer, sample_lot

ROOT = Path(__file__).resolve().parents[1]
LOTE = "/tiss/v40300/tissLoteGuias"
LIMIT = 64 * 1024  # TISS_MAX_MESSAGE_BYTES for this module: small, so oversize bodies are cheap
LATIN1 = {"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText"
)
XSI_XSD = (
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
)
# A procedure description with the accents a hospital system writes (stored per item).
ACCENTED = "CONSULTA EM CONSULTÓRIO - AVALIAÇÃO PRÉ-ANESTÉSICA"


@pytest.fixture
def settings_overrides():
    return {"max_message_bytes": LIMIT}


# --- building what the provider's system sends ---


def lot_ws(numero: str, count: int = 2, **kw) -> etree._Element:
    # Guides numbered after the lot: the production server `served` runs refuses a guide billed
    # twice (1308).
    kw.setdefault("guides", sample_guides(count, prefix=f"{numero}-"))
    return lote_guias_ws(sample_lot(PROVIDER_A, numero, registro_ans=REGISTRO_ANS, **kw))


def accented_lot(numero: str) -> etree._Element:
    """An SP/SADT lot whose every procedure is described with accents, hashed over ISO-8859-1
    as the standard says."""
    ws = lot_ws(numero, guide_type="guiaSP-SADT")
    for description in ws.iter(q("descricaoProcedimento")):
        description.text = ACCENTED
    ws.find(q("hash")).text = message_hash(ws)
    return ws


def payload(numero: str) -> str:
    """The loteGuiasWS element alone, `ans:` prefixed, declaring its namespace (ASCII: accents
    as character references)."""
    return etree.tostring(lot_ws(numero)).decode("ascii")


def default_namespace(element: str) -> str:
    """The same element written in the default namespace (as .NET and Delphi write it)."""
    return element.replace("xmlns:ans=", "xmlns=").replace("ans:", "")


def prefixed(element: str, prefix: str) -> str:
    """The same element under another prefix (JAX-WS writes ns2:)."""
    return element.replace("xmlns:ans=", f"xmlns:{prefix}=").replace("ans:", f"{prefix}:")


def soap11(body: str, header: str = "", prefix: str = "soapenv") -> bytes:
    return (
        f'<{prefix}:Envelope xmlns:{prefix}="{SOAP11_ENV}">{header}'
        f"<{prefix}:Body>{body}</{prefix}:Body></{prefix}:Envelope>"
    ).encode()


def without_declaration(document: bytes) -> bytes:
    assert document.startswith(b"<?xml")
    return document.split(b"?>", 1)[1].lstrip()


# --- reading what the gateway answers and keeps ---


def answer_of(response, version: str = "4.03.00"):
    """The SOAP answer, validated against the official schema by tests/tissclient."""
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, version
    )


def soap_post(client, data: bytes, headers: dict | None = None, path: str = LOTE):
    return answer_of(client.post(path, data=data, headers=LATIN1 if headers is None else headers))


def messages(gw) -> list[models.Message]:
    with gw.db.reading() as s:
        return list(s.scalars(select(models.Message).order_by(models.Message.id)))


def lot_count(gw) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(models.Lot))


def archived(gw, sent: bytes, outcome: str) -> models.Message:
    """The one message archived: the bytes as they arrived, with their size."""
    (message,) = messages(gw)
    assert message.raw_request == sent
    assert message.request_size == len(sent)
    assert message.outcome == outcome, (message.outcome, message.codes, message.detail)
    assert message.service == "tissLoteGuias" and message.channel == "soap"
    return message


def stored_descriptions(gw, numero: str) -> set[str]:
    with gw.db.reading() as s:
        lot = s.scalar(select(models.Lot).where(models.Lot.numero_lote == numero))
        return {item.descricao for guide in lot.guides for item in guide.items}


def protocol_of(answer) -> str:
    """The protocol number of an accepted lot's answer (failing with the fault's text if not)."""
    assert not answer.is_fault, answer.faultstring
    assert answer.protocol, answer.raw[:400]
    return answer.protocol


def refused_as_unreadable(answer) -> None:
    assert answer.is_fault, answer.raw[:400]
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5002"
    assert answer.faultcode.endswith("Client")


def soap_fault(response) -> etree._Element:
    """The Fault of an answer read without tissclient's assumptions (a MustUnderstand or
    VersionMismatch fault need not carry a body detail); any detail it has is still checked
    against the official schema."""
    assert response.status_code == 500
    fault = etree.fromstring(response.data).find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
    assert fault is not None, response.data[:400]
    detail = fault.find("detail")
    if detail is not None and len(detail):
        assert_official(detail[0], "4.03.00")
    return fault


def faultcode(fault: etree._Element) -> str:
    """The faultcode's local name, after checking that its prefix means SOAP 1.1."""
    prefix, _, local = fault.findtext("faultcode").rpartition(":")
    assert fault.nsmap.get(prefix or None) == SOAP11_ENV
    return local


# --- Content-Type, charset, byte-order marks ---


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/xml",
        "application/xml",
        "application/soap+xml; charset=ISO-8859-1",  # the SOAP 1.2 type on a SOAP 1.1 envelope
        'text/xml;charset="iso-8859-1"',
        "TEXT/XML; CHARSET=ISO-8859-1",
    ],
)
def test_content_type_variants_with_a_soap11_envelope_are_processed(client, gw, content_type):
    sent = envelope(lot_ws("CT1"))
    headers = {"SOAPAction": '""'}
    if content_type is not None:
        headers["Content-Type"] = content_type
    answer = soap_post(client, sent, headers)
    protocol_of(answer)
    archived(gw, sent, "accepted")


@pytest.mark.parametrize(
    "encoding,content_type",
    [
        ("ISO-8859-1", "text/xml; charset=UTF-8"),  # the HTTP library's default label
        ("UTF-8", "text/xml; charset=ISO-8859-1"),
        ("UTF-16", "text/xml; charset=UTF-8"),  # the byte-order mark decides
        ("UTF-16", "text/xml"),
        ("UTF-16BE", "text/xml; charset=UTF-16BE"),  # no byte-order mark
        ("utf-8-sig", "text/xml; charset=UTF-8"),  # UTF-8 with a byte-order mark
        ("windows-1252", "text/xml; charset=windows-1252"),
    ],
)
def test_the_bytes_and_their_xml_declaration_decide_the_charset(client, gw, encoding, content_type):
    """Accents survive whatever the HTTP label says when the document itself is unambiguous:
    the description is stored as written and the hash (over ISO-8859-1) matches."""
    ws = accented_lot("CS1")
    if encoding == "utf-8-sig":
        sent = b"\xef\xbb\xbf" + envelope(ws, "UTF-8")
    else:
        sent = envelope(ws, encoding)
    answer = soap_post(client, sent, {"Content-Type": content_type, "SOAPAction": '""'})
    protocol_of(answer)
    message = archived(gw, sent, "accepted")
    assert message.hash_variant == "iso-8859-1"
    assert stored_descriptions(gw, "CS1") == {ACCENTED}


def test_latin1_without_xml_declaration_is_read_in_the_http_charset(client, gw):
    sent = without_declaration(envelope(accented_lot("CS2"), "ISO-8859-1"))
    assert "Ó".encode("iso-8859-1") in sent
    answer = soap_post(client, sent, {"Content-Type": "text/xml; charset=ISO-8859-1"})
    protocol_of(answer)
    archived(gw, sent, "accepted")
    assert stored_descriptions(gw, "CS2") == {ACCENTED}


def test_latin1_bytes_labelled_nowhere_are_refused_naming_the_encoding(client, gw):
    """No declaration, no charset: XML says UTF-8, which Latin-1 accents are not."""
    sent = without_declaration(envelope(accented_lot("CS3"), "ISO-8859-1"))
    answer = soap_post(client, sent, {"Content-Type": "text/xml"})
    refused_as_unreadable(answer)
    assert "codificação" in answer.faultstring
    assert lot_count(gw) == 0
    archived(gw, sent, "rejected")


# --- compression and packaging ---


@pytest.mark.parametrize("coding,compress", [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_compressed_lot_is_processed_or_refused_naming_the_compression(
    client, gw, coding, compress
):
    plain = envelope(lot_ws("GZ1"))
    sent = compress(plain)
    answer = soap_post(client, sent, {**LATIN1, "Content-Encoding": coding})
    (message,) = messages(gw)
    assert message.raw_request in (sent, plain)
    if answer.is_fault:
        assert answer.code == "5002"
        assert re.search(r"gzip|deflate|content-encoding|compact", answer.faultstring, re.I)
        assert lot_count(gw) == 0
    else:
        protocol_of(answer)


def test_gzip_bomb_is_never_accepted_past_the_size_limit(client, gw):
    """A valid lot followed by 12 MiB of blanks compresses to a few KiB: whatever the gateway
    does with gzip, the decoded message is above the limit and must not become a lot."""
    plain = envelope(lot_ws("GZ2")) + b" " * (200 * LIMIT)
    sent = gzip.compress(plain)
    assert len(sent) < LIMIT
    answer = soap_post(client, sent, {**LATIN1, "Content-Encoding": "gzip"})
    refused_as_unreadable(answer)
    assert lot_count(gw) == 0
    (message,) = messages(gw)
    assert message.outcome == "rejected" and len(message.raw_request) <= LIMIT


MTOM_BOUNDARY = "uuid:0f3c7a52-tiss"


def test_mtom_request_is_processed_or_refused_naming_mtom(client, gw):
    root_part = envelope(lot_ws("MT1"), "UTF-8")
    sent = (
        (
            f"--{MTOM_BOUNDARY}\r\n"
            'Content-Type: application/xop+xml; charset=UTF-8; type="text/xml"\r\n'
            "Content-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n"
        ).encode()
        + root_part
        + f"\r\n--{MTOM_BOUNDARY}--\r\n".encode()
    )
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{MTOM_BOUNDARY}"; '
        'start="<root.message@cxf.apache.org>"; start-info="text/xml"'
    )
    answer = soap_post(client, sent, {"Content-Type": content_type, "SOAPAction": '""'})
    (message,) = messages(gw)
    assert message.raw_request == sent
    if answer.is_fault:
        assert answer.code == "5002"
        assert re.search(r"mtom|multipart|xop", answer.faultstring, re.I)
    else:
        protocol_of(answer)


# --- SOAPAction ---


@pytest.mark.parametrize(
    "soap_action",
    [
        None,
        "",
        '""',
        '"urn:qualquer"',
        "tissLoteGuias_Operation",
        # another service's action: the endpoint, not SOAPAction, decides the service
        '"http://www.ans.gov.br/tiss/ws/tipos/tisssolicitacaostatusprotocolo/v40300'
        '/tissSolicitacaoStatusProtocolo_Operation"',
    ],
)
def test_soapaction_in_any_form_is_ignored(client, gw, soap_action):
    sent = envelope(lot_ws("SA1"))
    headers = {"Content-Type": "text/xml; charset=ISO-8859-1"}
    if soap_action is not None:
        headers["SOAPAction"] = soap_action
    protocol_of(soap_post(client, sent, headers))
    archived(gw, sent, "accepted")


# --- envelope shapes, headers, comments ---


WSSE_HEADER = (
    f'<soapenv:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
    f"<wsse:Username>{PROVIDER_A.cnpj}</wsse:Username>"
    f'<wsse:Password Type="{PASSWORD_TEXT}">{PROVIDER_A.password}</wsse:Password>'
    "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
)
TRACE = '<r:Rastreio xmlns:r="urn:sishosp:rastreio"{}>42</r:Rastreio>'
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"

SHAPES = {
    "SOAP-ENV prefix, empty Header": lambda p: soap11(p, "<SOAP-ENV:Header/>", "SOAP-ENV"),
    "default-namespace Envelope, ans: payload": lambda p: (
        f'<Envelope xmlns="{SOAP11_ENV}"><Body>{p}</Body></Envelope>'.encode()
    ),
    ".NET: s: prefix, default-namespace payload": lambda p: (
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body {XSI_XSD}>{default_namespace(p)}'
        "</s:Body></s:Envelope>"
    ).encode(),
    "JAX-WS: S: prefix, ns2: payload, xmldsig declared": lambda p: soap11(
        prefixed(p, "ns2").replace("xmlns:ns2=", f'xmlns:ns3="{XMLDSIG}" xmlns:ns2=', 1),
        prefix="S",
    ),
    "Delphi: SOAP-ENV, xsd/xsi on the Envelope, default-namespace payload": lambda p: (
        f'<?xml version="1.0"?>\r\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP11_ENV}" {XSI_XSD}>'
        f"<SOAP-ENV:Body>{default_namespace(p)}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode(),
    "payload namespace declared on the Envelope only": lambda p: (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENV}" xmlns:ans="{ANS}"><soapenv:Body>'
        + p.replace(f' xmlns:ans="{ANS}"', "", 1)
        + "</soapenv:Body></soapenv:Envelope>"
    ).encode(),
    "comments, blank lines and a PI around the payload": lambda p: (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- gerado por SisHosp 9.2 -->\n'
        b'<?sishosp lote="1"?>\n'
        + soap11(
            f"\n  <!-- lote -->\n  {p}\n  <!-- fim -->\n", "<soapenv:Header>\n</soapenv:Header>\n"
        )
        + b"\n\n"
    ),
    "unknown header block without mustUnderstand": lambda p: soap11(
        p, f"<soapenv:Header>{TRACE.format('')}</soapenv:Header>"
    ),
    "unknown header block with mustUnderstand=0": lambda p: soap11(
        p, "<soapenv:Header>" + TRACE.format(' soapenv:mustUnderstand="0"') + "</soapenv:Header>"
    ),
    "WS-Security UsernameToken beside the TISS login": lambda p: soap11(p, WSSE_HEADER),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_envelope_shapes_of_real_clients_are_processed(client, gw, shape):
    sent = SHAPES[shape](payload("EN1"))
    answer = soap_post(client, sent)
    protocol_of(answer)
    assert answer.text(".//ans:numeroLote") == "EN1"
    archived(gw, sent, "accepted")


def test_unknown_header_that_must_be_understood_is_a_mustunderstand_fault(client, gw):
    header = (
        '<soapenv:Header><t:Transacao xmlns:t="urn:sishosp:transacao" '
        'soapenv:mustUnderstand="1"><t:modo>somente-validar</t:modo></t:Transacao>'
        "</soapenv:Header>"
    )
    sent = soap11(payload("MU1"), header)
    fault = soap_fault(client.post(LOTE, data=sent, headers=LATIN1))
    assert faultcode(fault) == "MustUnderstand"
    assert "Transacao" in fault.findtext("faultstring")
    assert lot_count(gw) == 0
    archived(gw, sent, "rejected")


def test_ws_security_is_not_a_credential_the_tiss_login_is(client, gw):
    """A UsernameToken with the provider's right password does not stand in for the
    loginSenhaPrestador the message lacks."""
    sent = soap11(etree.tostring(lot_ws("WS1", login=None)).decode(), WSSE_HEADER)
    answer = soap_post(client, sent)
    assert answer.tiss_fault == "LoginInvalido" and answer.code == "5005"
    assert lot_count(gw) == 0
    archived(gw, sent, "rejected")


def test_a_ws_security_password_is_masked_in_the_file_the_provider_area_hands_back(client, gw):
    sent = soap11(payload("WS2"), WSSE_HEADER)
    protocol_of(soap_post(client, sent))
    message = archived(gw, sent, "accepted")
    assert message.raw_request == sent  # the archive keeps everything as it came
    handed = files.raw_file(gw.db, message.provider_id, message.id, files.REQUEST)
    assert handed is not None and handed.content
    assert PROVIDER_A.senha_md5.encode() not in handed.content
    assert PROVIDER_A.password.encode() not in handed.content


@pytest.mark.parametrize(
    "extra",
    ['<x:Auditoria xmlns:x="urn:sishosp">1</x:Auditoria>', "same lot twice"],
    ids=["lot and another element", "the lot twice"],
)
def test_a_body_with_more_than_the_lot_is_refused_and_nothing_is_stored(client, gw, extra):
    lot = payload("BD1")
    sent = soap11(lot + (lot if extra == "same lot twice" else extra))
    answer = soap_post(client, sent)
    refused_as_unreadable(answer)
    assert "exatamente um elemento" in answer.faultstring
    assert lot_count(gw) == 0
    archived(gw, sent, "rejected")


def test_blank_lines_before_the_xml_declaration_are_tolerated_or_named(client, gw):
    sent = b"\r\n\r\n" + envelope(lot_ws("WS3"))
    answer = soap_post(client, sent)
    (message,) = messages(gw)
    assert message.raw_request == sent
    if answer.is_fault:
        assert answer.code == "5002"
        assert re.search(r"<\?xml|declara", answer.faultstring)
    else:
        protocol_of(answer)


def test_soap12_request_gets_a_version_mismatch_fault(client, gw):
    sent = (
        f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{SOAP12_ENV}">'
        f"<env:Body>{payload('V12')}</env:Body></env:Envelope>"
    ).encode()
    response = client.post(
        LOTE,
        data=sent,
        headers={"Content-Type": 'application/soap+xml; charset=UTF-8; action="urn:lote"'},
    )
    fault = soap_fault(response)
    assert faultcode(fault) == "VersionMismatch"
    assert "SOAP 1.1" in fault.findtext("faultstring")
    assert lot_count(gw) == 0
    archived(gw, sent, "rejected")


# --- HTTP methods and WSDL spellings ---

WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"


@pytest.mark.parametrize("query", ["?wsdl", "?WSDL", "?wsdl=", "?Wsdl=1", "/?wsdl", "?wsdl&x=1"])
def test_wsdl_spellings_serve_the_wsdl_with_the_endpoint_address(client, gw, query):
    response = client.get(LOTE + query)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    address = etree.fromstring(response.data).find(f".//{{{WSDL_SOAP}}}address")
    assert address.get("location") == "http://localhost" + LOTE
    assert messages(gw) == []


def test_head_of_the_wsdl_has_the_headers_of_get_and_no_body(client):
    get = client.get(LOTE + "?wsdl")
    head = client.head(LOTE + "?wsdl")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert int(head.headers["Content-Length"]) == len(get.data)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_of_an_endpoint_says_to_post_and_where_the_wsdl_is(client, gw, method):
    response = client.open(LOTE, method=method)
    assert response.status_code == 405 and response.mimetype == "text/plain"
    assert "POST" in response.headers["Allow"]
    if method == "GET":
        assert "POST" in response.get_data(as_text=True)
        assert "?wsdl" in response.get_data(as_text=True)
    assert messages(gw) == []


def test_options_lists_post_and_processes_nothing(client, gw):
    response = client.open(LOTE, method="OPTIONS", data=envelope(lot_ws("OP1")))
    assert response.status_code in (200, 204)
    assert "POST" in response.headers["Allow"]
    assert messages(gw) == [] and lot_count(gw) == 0


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_with_a_lot_are_refused_and_process_nothing(client, gw, method):
    response = client.open(LOTE, method=method, data=envelope(lot_ws("OP2")), headers=LATIN1)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert f"método {method} não permitido" in response.get_data(as_text=True)
    assert messages(gw) == [] and lot_count(gw) == 0


@pytest.mark.parametrize("suffix", ["?wsdl", "/"])
def test_a_post_to_the_wsdl_url_or_with_a_trailing_slash_is_processed(client, gw, suffix):
    sent = envelope(lot_ws("OP3"))
    protocol_of(soap_post(client, sent, path=LOTE + suffix))
    archived(gw, sent, "accepted")


# --- sizes: Content-Length and chunked bodies, in process ---


def test_oversize_body_is_archived_with_its_size_and_reason(client, gw):
    sent = envelope(lot_ws("BIG1")) + b" " * LIMIT
    answer = soap_post(client, sent)
    refused_as_unreadable(answer)
    assert "limite" in answer.faultstring
    (message,) = messages(gw)
    assert message.outcome == "rejected" and "limite" in message.detail
    assert message.request_size == len(sent) or str(len(sent)) in message.detail


class GeneratedBody(io.RawIOBase):
    """A request body produced as it is read (an envelope opening, then filler), counting how
    much of it the server consumed."""

    def __init__(self, total: int) -> None:
        self.start = soap11("<x>").removesuffix(b"</soapenv:Body></soapenv:Envelope>")
        self.total = total
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.total - self.consumed)
        if n <= 0:
            return 0
        head = self.start[self.consumed : self.consumed + n]
        buffer[:n] = head + b"A" * (n - len(head))
        self.consumed += n
        return n


def post_chunked(client, stream):
    """POST `stream` with Transfer-Encoding: chunked and no Content-Length, the way a server
    hands a chunked request to the application (wsgi.input_terminated)."""
    environ = EnvironBuilder(
        path=LOTE,
        method="POST",
        content_type="text/xml; charset=ISO-8859-1",
        headers={"Transfer-Encoding": "chunked", "SOAPAction": '""'},
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = stream
    environ["wsgi.input_terminated"] = True
    body, status, headers = run_wsgi_app(client.application, environ, buffered=True)
    data = b"".join(body)
    return read_answer(int(status.split(" ", 1)[0]), headers["Content-Type"], data, "4.03.00")


def test_chunked_lot_within_the_limit_is_processed_and_archived_whole(client, gw):
    sent = envelope(lot_ws("CH1", count=30))
    assert LIMIT // 2 < len(sent) < LIMIT
    protocol_of(post_chunked(client, io.BytesIO(sent)))
    archived(gw, sent, "accepted")


def test_oversize_chunked_body_is_read_no_further_than_the_limit(client, gw):
    body = GeneratedBody(10 * 1024 * 1024)
    answer = post_chunked(client, body)
    refused_as_unreadable(answer)
    assert body.consumed <= LIMIT + 64 * 1024
    assert lot_count(gw) == 0


@pytest.mark.parametrize("case", ["valid lot padded past the limit", "junk past the limit"])
def test_oversize_chunked_body_is_refused_for_its_size(client, gw, case):
    if case == "junk past the limit":
        stream = GeneratedBody(4 * LIMIT)
    else:
        stream = io.BytesIO(envelope(lot_ws("CH2")) + b" " * (2 * LIMIT))
    answer = post_chunked(client, stream)
    refused_as_unreadable(answer)
    assert "limite" in answer.faultstring
    assert lot_count(gw) == 0
    (message,) = messages(gw)
    assert message.outcome == "rejected" and "limite" in message.detail


# --- over real HTTP: `tiss-gateway serve` ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"tiss-gateway serve exited:\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    pytest.fail(f"tiss-gateway serve did not answer:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(database_url, migrated, tmp_path_factory):
    """`tiss-gateway serve` (gunicorn, one sync worker) on the test database, with
    TISS_MAX_MESSAGE_BYTES at this module's limit. Tests seed the database with `gw`."""
    var = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TISS_")}
    env.update(
        TISS_DATABASE_URL=database_url,
        TISS_VAR_DIR=str(var),
        TISS_MAX_MESSAGE_BYTES=str(LIMIT),
        TISS_LOG_FORMAT="text",
        PROMETHEUS_MULTIPROC_DIR=str(var / "prometheus"),
        XDG_RUNTIME_DIR=str(var),  # gunicorn's control socket: ours, not the user's
    )
    log = var / "serve.log"
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(process, port, log)
        yield ("127.0.0.1", port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sent. A server that closes with part of the request unread may
    reset the connection after its answer: what arrived before is still the answer."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def _final_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the final response in `data`, after any 1xx."""
    while True:
        head, _, data = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status >= 200:
            break
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    if "content-length" in headers:
        data = data[: int(headers["content-length"])]
    return status, headers, data


def _request_head(length_header: str, *extra: str) -> bytes:
    lines = [
        f"POST {LOTE} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: text/xml; charset=ISO-8859-1",
        'SOAPAction: ""',
        length_header,
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunked(data: bytes, size: int = 4096) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def _served_answer(status: int, headers: dict[str, str], body: bytes):
    return read_answer(status, headers["content-type"], body, "4.03.00")


def test_two_lots_on_one_connection_are_both_answered_and_archived(served, gw):
    """A client that keeps its connection for the next lot: the server may close after each
    answer (gunicorn's sync worker does), but must say so, or the second POST is lost."""
    sent = [envelope(lot_ws("KA1")), envelope(lot_ws("KA2"))]
    connection = http.client.HTTPConnection(*served, timeout=30)
    answers = []
    try:
        for body in sent:
            connection.request("POST", LOTE, body=body, headers=LATIN1)
            response = connection.getresponse()
            answers.append(
                read_answer(
                    response.status, response.getheader("Content-Type"), response.read(), "4.03.00"
                )
            )
    finally:
        connection.close()
    assert [a.text(".//ans:numeroLote") for a in answers] == ["KA1", "KA2"]
    assert protocol_of(answers[0]) != protocol_of(answers[1])
    stored = messages(gw)
    assert [m.raw_request for m in stored] == sent
    assert {m.outcome for m in stored} == {"accepted"} and lot_count(gw) == 2
    assert {m.remote_addr for m in stored} == {"127.0.0.1"}


def test_expect_100_continue_gets_the_interim_answer_then_the_protocol(served, gw):
    body = envelope(lot_ws("EX1"))
    with socket.create_connection(served, timeout=30) as sock:
        sock.sendall(_request_head(f"Content-Length: {len(body)}", "Expect: 100-continue"))
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        answer = _served_answer(*_final_response(_read_until_closed(sock)))
    protocol_of(answer)
    archived(gw, body, "accepted")


def test_chunked_lot_is_processed_by_the_production_server(served, gw):
    body = envelope(lot_ws("SC1", count=10))
    with socket.create_connection(served, timeout=30) as sock:
        sock.sendall(_request_head("Transfer-Encoding: chunked") + _chunked(body))
        answer = _served_answer(*_final_response(_read_until_closed(sock)))
    protocol_of(answer)
    archived(gw, body, "accepted")


def test_chunked_body_past_the_limit_is_refused_by_the_production_server(served, gw):
    body = envelope(lot_ws("SC2")) + b" " * (2 * LIMIT)
    with socket.create_connection(served, timeout=30) as sock:
        sock.sendall(_request_head("Transfer-Encoding: chunked") + _chunked(body, 16384))
        answer = _served_answer(*_final_response(_read_until_closed(sock)))
    refused_as_unreadable(answer)
    assert "limite" in answer.faultstring
    assert lot_count(gw) == 0
