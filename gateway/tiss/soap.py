"""The SOAP 1.1 frame of the TISS web services: the Envelope an answer travels in, the Fault
that answers a refused message (the official WSDLs declare `tissFaultWS` as every operation's
fault), and the envelope-level refusals SOAP 1.1 gives their own faultcode. The fault is built
whole here, faultstring included, so that the bytes the archive keeps are the bytes the client
receives."""

from dataclasses import dataclass

from lxml import etree

from gateway.tiss.codes import FaultKind
from gateway.tiss.namespaces import SOAP11_ENV, SOAP12_ENV
from gateway.tiss.responses import tiss_fault

CLIENT = "Client"
SERVER = "Server"
VERSION_MISMATCH = "VersionMismatch"
MUST_UNDERSTAND = "MustUnderstand"

# SOAP 1.1, 4.2.2: a header block without `actor`, or with this one, is meant for this node.
_ACTOR_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"
_MUST_UNDERSTAND_ATTR = f"{{{SOAP11_ENV}}}mustUnderstand"
_ACTOR_ATTR = f"{{{SOAP11_ENV}}}actor"


@dataclass(frozen=True)
class EnvelopeRefusal:
    """A SOAP-level reason not to process a message (in Portuguese), with its faultcode."""

    reason: str
    faultcode: str


def soap_envelope(content: etree._Element | None = None) -> etree._Element:
    """A SOAP 1.1 Envelope whose Body holds `content` (empty without it)."""
    envelope = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soapenv": SOAP11_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV}}}Body")
    if content is not None:
        body.append(content)
    return envelope


def soap_fault(faultcode: str, faultstring: str, detail: etree._Element | None) -> etree._Element:
    """An Envelope whose Body holds one Fault; `faultcode` is one of SOAP 1.1's (4.4.1) and
    `detail` the service's own fault element, or None for a fault that must not have one."""
    envelope = soap_envelope()
    fault = etree.SubElement(envelope[0], f"{{{SOAP11_ENV}}}Fault")
    # faultcode, faultstring and detail are unqualified (SOAP 1.1's own schema).
    etree.SubElement(fault, "faultcode").text = f"soapenv:{faultcode}"
    etree.SubElement(fault, "faultstring").text = faultstring
    if detail is not None:
        etree.SubElement(fault, "detail").append(detail)
    return envelope


def tiss_soap_fault(
    kind: FaultKind, faultstring: str, faultcode: str | None = None
) -> etree._Element:
    """The fault answering a TISS message: by default the sender's fault (Client) for every
    category but ErroInesperadoServidor, which is ours (Server: the same message may succeed
    later); `faultcode` for an envelope-level refusal (envelope_refusal)."""
    if faultcode is None:
        faultcode = SERVER if kind is FaultKind.ERRO_INESPERADO else CLIENT
    # SOAP 1.1, 4.4: the detail tells what went wrong with the Body and must not be used for a
    # header block's error; the faultstring names the block.
    detail = None if faultcode == MUST_UNDERSTAND else tiss_fault(kind)
    return soap_fault(faultcode, faultstring, detail)


def envelope_refusal(envelope: etree._Element) -> EnvelopeRefusal | None:
    """Why a parsed document may not be processed as a SOAP 1.1 message at all, when SOAP 1.1
    gives the reason a faultcode of its own: an Envelope of another SOAP version
    (VersionMismatch, 4.4.1) or a header block meant for this node that it must understand and
    does not (MustUnderstand, 4.2.3). None otherwise (the Body is checked afterwards)."""
    name = etree.QName(envelope)
    if name.localname == "Envelope" and name.namespace != SOAP11_ENV:
        return EnvelopeRefusal(_other_version(name.namespace), VERSION_MISMATCH)
    blocks = _not_understood(envelope)
    if blocks:
        return EnvelopeRefusal(_not_understood_reason(blocks), MUST_UNDERSTAND)
    return None


def _not_understood(envelope: etree._Element) -> list[etree._Element]:
    """The header blocks meant for this node with mustUnderstand="1". The TISS services
    understand no header block: the message is entirely in the Body, and a WS-Security
    header is not read (the TISS login is in cabecalho), so claiming to understand one would
    tell its sender that its token or timestamp was checked."""
    header = envelope.find(f"{{{SOAP11_ENV}}}Header")
    if header is None:
        return []
    return [
        block
        for block in header.iterchildren(etree.Element)
        if _must_understand(block) and block.get(_ACTOR_ATTR, _ACTOR_NEXT).strip() == _ACTOR_NEXT
    ]


def _must_understand(block: etree._Element) -> bool:
    # SOAP 1.1 writes "1"; clients that learnt SOAP 1.2 write "true".
    return block.get(_MUST_UNDERSTAND_ATTR, "").strip() in ("1", "true")


def _other_version(namespace: str | None) -> str:
    version = "SOAP 1.2" if namespace == SOAP12_ENV else f"namespace {namespace or '(nenhum)'}"
    return (
        f"envelope {version}: os serviços TISS usam SOAP 1.1 (Envelope no namespace "
        f"{SOAP11_ENV}, Content-Type text/xml); a mensagem não foi processada"
    )


def _not_understood_reason(blocks: list[etree._Element]) -> str:
    names = ", ".join(_block_name(etree.QName(block)) for block in blocks)
    return (
        f'cabeçalho SOAP com mustUnderstand="1" que o gateway não processa: {names}; a '
        'mensagem não foi processada. Envie-a sem esse cabeçalho ou com mustUnderstand="0"'
    )


def _block_name(name: etree.QName) -> str:
    return f"{name.localname} ({name.namespace or 'sem namespace'})"
