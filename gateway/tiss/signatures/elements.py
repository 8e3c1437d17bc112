"""Where a TISS message carries its signature, and what the element is called.

Every `*WS` element of the official schemas ends with an optional signature of type
`ans:Signature`, which extends `ds:SignatureType`: the element is in the TISS namespace while its
children (SignedInfo, SignatureValue, KeyInfo, Object) are in the XML-DSig namespace. Three
answers name it `Signatures`; a `mensagemTISS` file uses `ds:Signature` itself.
"""

from lxml import etree

from gateway.tiss.namespaces import DS, q

XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}

SIGNATURE_TAGS = frozenset({q("Signature"), q("Signatures"), f"{{{DS}}}Signature"})

# The *WS elements whose schema names the element `Signatures` (the same in 4.01.00 to 4.03.00;
# 3.05.00 lacks reciboDocumentosWS).
_PLURAL = frozenset(
    {"respostaElegibilidadeWS", "protocoloRecebimentoAnexoWS", "reciboDocumentosWS"}
)


def find_signatures(message: etree._Element) -> list[etree._Element]:
    """The signature elements directly under a message (the schema allows at most one)."""
    return [child for child in message.iterchildren(etree.Element) if child.tag in SIGNATURE_TAGS]


def signature_tag(message: etree._Element) -> str:
    """The Clark name the official schema gives the signature of this message."""
    name = etree.QName(message).localname
    if name == "mensagemTISS":
        return f"{{{DS}}}Signature"
    return q("Signatures") if name in _PLURAL else q("Signature")
