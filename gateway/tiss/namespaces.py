"""Namespaces and version spellings of the TISS standard."""

import re

ANS = "http://www.ans.gov.br/padroes/tiss/schemas"
DS = "http://www.w3.org/2000/09/xmldsig#"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"

NSMAP = {"ans": ANS}

_VERSION = re.compile(r"^(\d)\.(\d\d)\.(\d\d)$")


def q(local_name: str) -> str:
    """Clark notation of an element of the TISS payload namespace."""
    return f"{{{ANS}}}{local_name}"


def is_version(text: str) -> bool:
    return bool(_VERSION.match(text))


def version_slug(version: str) -> str:
    """'4.03.00' -> 'v40300', the spelling used in WSDL namespaces and our URLs."""
    return "v" + version.replace(".", "")


def version_from_slug(slug: str) -> str | None:
    """'v40300' -> '4.03.00'; None when the slug is not a version."""
    m = re.fullmatch(r"v(\d)(\d\d)(\d\d)", slug)
    return f"{m.group(1)}.{m.group(2)}.{m.group(3)}" if m else None


def version_file_tag(version: str) -> str:
    """'4.03.00' -> 'V4_03_00', the spelling used in schema file names."""
    return "V" + version.replace(".", "_")


def service_namespace(service: str, version: str) -> str:
    """Target namespace of an official TISS WSDL, e.g. tissLoteGuias 4.03.00 ->
    http://www.ans.gov.br/tiss/ws/tipos/tissloteguias/v40300."""
    return f"http://www.ans.gov.br/tiss/ws/tipos/{service.lower()}/{version_slug(version)}"
