"""The SOAP 1.1 frame of the TISS web services: the Envelope an answer travels in, and the Fault
that answers a refused message (the official WSDLs declare `tissFaultWS` as every operation's
fault). The fault is built whole here, faultstring included, so that the bytes the archive keeps
are the bytes the client receives."""

from lxml import etree

from gateway.tiss.codes import FaultKind
from gateway.tiss.namespaces import SOAP11_ENV
from gateway.tiss.responses import tiss_fault

CLIENT = "Client"
SERVER = "Server"


def soap_envelope(content: etree._Element | None = None) -> etree._Element:
    """A SOAP 1.1 Envelope whose Body holds `content` (empty without it)."""
    envelope = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soapenv": SOAP11_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV}}}Body")
    if content is not None:
        body.append(content)
    return envelope


def soap_fault(faultcode: str, faultstring: str, detail: etree._Element) -> etree._Element:
    """An Envelope whose Body holds one Fault; `faultcode` is CLIENT or SERVER (SOAP 1.1, 4.4.1)
    and `detail` the service's own fault element."""
    envelope = soap_envelope()
    fault = etree.SubElement(envelope[0], f"{{{SOAP11_ENV}}}Fault")
    # faultcode, faultstring and detail are unqualified (SOAP 1.1's own schema).
    etree.SubElement(fault, "faultcode").text = f"soapenv:{faultcode}"
    etree.SubElement(fault, "faultstring").text = faultstring
    etree.SubElement(fault, "detail").append(detail)
    return envelope


def tiss_soap_fault(kind: FaultKind, faultstring: str) -> etree._Element:
    """The fault answering a TISS message: the sender's fault (Client) for every category but
    ErroInesperadoServidor, which is ours (Server: the same message may succeed later)."""
    faultcode = SERVER if kind is FaultKind.ERRO_INESPERADO else CLIENT
    return soap_fault(faultcode, faultstring, tiss_fault(kind))
