"""xs:base64Binary checked strictly, where libxml2 is lenient.

libxml2 skips every character outside the base64 alphabet when it validates an xs:base64Binary,
so '!!!!' (nothing left: the empty value) or 'não é base64!' (read as 'nobase64') pass the
official schema. XML Schema 1.0 (Datatypes, 2nd edition, 3.2.16) allows only the alphabet, '='
padding and whitespace. This module gives the elements a schema set types as base64Binary and
the strict lexical check their text must pass.
"""

import re
from collections.abc import Iterable

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
_XS_NS = {"xs": XS}
_BASE64BINARY = f"{{{XS}}}base64Binary"

# The value space is reached after whiteSpace="collapse", which leaves at most one space between
# two characters, and the grammar allows one between any two: so dropping every XML whitespace
# character (and nothing else: a no-break space is not one) leaves what the grammar must match.
# This is why the line breaks of a ds:SignatureValue or an X509Certificate are legal.
_XML_WHITESPACE = str.maketrans("", "", " \t\n\r")
_QUADS = re.compile(r"[A-Za-z0-9+/]*")
# The last group of four: complete, or padded with '=' where the bits the padding leaves over
# are zero (B16 and B04 of the grammar), as libxml2 already checks.
_LAST_QUAD = re.compile(
    r"[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/][AQgw]=="
)


def is_base64binary(text: str | None) -> bool:
    """Whether `text` is in the lexical space of xs:base64Binary (the empty value is)."""
    compact = (text or "").translate(_XML_WHITESPACE)
    if not compact:
        return True
    last = len(compact) - 4
    # Two C-level scans rather than one regex of repeated groups: a `documento` can be megabytes.
    return (
        last >= 0
        and len(compact) % 4 == 0
        and _QUADS.fullmatch(compact, 0, last) is not None
        and _LAST_QUAD.fullmatch(compact, last) is not None
    )


def element_value(element: etree._Element) -> str:
    """The text of a simple-typed element; a comment inside it (kept by another parser than the
    gateway's, which drops them) splits the text without ending the value."""
    if len(element) == 0:
        return element.text or ""
    return "".join(element.itertext())


def base64binary_elements(schema_roots: Iterable[etree._Element]) -> frozenset[str]:
    """Clark names of the elements the schema documents declare with xs:base64Binary or a type
    derived from it (ds:CryptoBinary, ds:DigestValueType, ds:SignatureValueType...).

    A name declared both with such a type and with another is left out: the name alone cannot
    tell which declaration an element of a message follows (no official set has one)."""
    roots = list(schema_roots)
    base64_types = _derived_from_base64binary(roots)
    base64, other = set(), set()
    for root in roots:
        for declaration in root.iter(f"{{{XS}}}element"):
            name = _element_name(root, declaration)
            if name is not None:
                (base64 if _type_of(declaration) in base64_types else other).add(name)
    return frozenset(base64 - other)


def _derived_from_base64binary(roots: list[etree._Element]) -> set[str]:
    """xs:base64Binary and every named type whose chain of restrictions or simple-content
    extensions leads to it."""
    bases: dict[str, str] = {}
    for root in roots:
        namespace = root.get("targetNamespace") or ""
        for named in root.iterfind("xs:simpleType[@name]", _XS_NS):
            _record_base(bases, namespace, named, "xs:restriction/@base")
        for named in root.iterfind("xs:complexType[@name]", _XS_NS):
            _record_base(bases, namespace, named, "xs:simpleContent/*/@base")
    derived = {_BASE64BINARY}
    while True:
        more = {name for name, base in bases.items() if base in derived} - derived
        if not more:
            return derived
        derived |= more


def _record_base(bases: dict[str, str], namespace: str, named: etree._Element, path: str) -> None:
    for base in named.xpath(path, namespaces=_XS_NS):
        bases[f"{{{namespace}}}{named.get('name')}"] = _resolve(named, base)


def _element_name(root: etree._Element, declaration: etree._Element) -> str | None:
    name = declaration.get("name")
    if name is None:  # a reference (ref="..."): its global declaration is counted
        return None
    qualified = (
        declaration.getparent() is root
        or (declaration.get("form") or root.get("elementFormDefault")) == "qualified"
    )
    namespace = root.get("targetNamespace") if qualified else None
    return f"{{{namespace}}}{name}" if namespace else name


def _type_of(declaration: etree._Element) -> str | None:
    """The declared type, or the base of an anonymous simple type or simple content."""
    named = declaration.get("type")
    if named is not None:
        return _resolve(declaration, named)
    bases = declaration.xpath(
        "xs:simpleType/xs:restriction/@base | xs:complexType/xs:simpleContent/*/@base",
        namespaces=_XS_NS,
    )
    return _resolve(declaration, bases[0]) if bases else None


def _resolve(node: etree._Element, qname: str) -> str:
    prefix, _, local = qname.strip().rpartition(":")
    return f"{{{node.nsmap.get(prefix or None, '')}}}{local}"
