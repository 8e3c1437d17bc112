"""The back-office schema (xsd/tissGatewayBackOffice.xsd): validation of requests, and small
readers and writers between its elements and plain Python values."""

import re
import threading
from datetime import MAXYEAR, UTC, date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from gateway.resources import backoffice_xsd_path
from gateway.services.backoffice.errors import BackOfficeError
from gateway.services.backoffice.values import as_utc

NS = "urn:tiss-gateway:backoffice:v1"
NSMAP = {"bo": NS}
MAX_REPORTED_ERRORS = 10
# Characters XML 1.0 cannot carry; stored texts (e.g. an archived error detail) are written
# with U+FFFD in their place rather than failing the whole answer.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_local = threading.local()


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _schema() -> etree.XMLSchema:
    # One compiled schema per thread: an XMLSchema keeps a single error log that every
    # validation clears, so threads sharing one would read each other's errors.
    schema = getattr(_local, "schema", None)
    if schema is None:
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        schema = _local.schema = etree.XMLSchema(etree.parse(str(backoffice_xsd_path()), parser))
    return schema


def _schema_error_log(element: etree._Element) -> list:
    schema = _schema()
    return [] if schema.validate(element) else list(schema.error_log)


def schema_errors(element: etree._Element) -> list[str]:
    """Every error the schema finds in `element` (a request or a response element)."""
    return [f"linha {e.line}: {e.message}" for e in _schema_error_log(element)]


def check_request(element: etree._Element) -> None:
    """The staff get every error with the value that broke it; the log only where each is:
    libxml2 quotes the value, and a beneficiary's name typed into the wrong field is one."""
    entries = _schema_error_log(element)
    if entries:
        errors = [f"linha {e.line}: {e.message}" for e in entries]
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        suffix = f"; e mais {more} erro(s)" if more > 0 else ""
        summary = f"requisição fora do schema tissGatewayBackOffice.xsd ({len(errors)} erro(s))"
        places = "; ".join(f"linha {e.line}: {e.path}" for e in entries[:MAX_REPORTED_ERRORS])
        raise BackOfficeError(f"{summary}: {shown}{suffix}", logged=f"{summary} em {places}")


class Reader:
    """Typed access to the children of a request element already valid under the schema; the
    conversions still refuse what Python cannot represent (e.g. year 0)."""

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def text(self, name: str) -> str | None:
        child = self.element.find(q(name))
        return None if child is None else (child.text or "")

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise BackOfficeError(f"{name} não informado")
        return value

    def children(self, name: str) -> list["Reader"]:
        return [Reader(child) for child in self.element.iterfind(q(name))]

    def texts(self, name: str) -> list[str]:
        return [(child.text or "").strip() for child in self.element.iterfind(q(name))]

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        return None if value is None else _convert(int, value.strip(), name)

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise BackOfficeError(f"{name}: {value!r} não é um número") from None

    def date(self, name: str) -> date | None:
        value = self.text(name)
        return None if value is None else _convert(date.fromisoformat, value.strip(), name)

    def instant(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        moment = _convert(datetime.fromisoformat, value.strip(), name)
        try:
            return as_utc(moment)
        except OverflowError:
            # Within a day of either end of the calendar, in a zone that carries it past the end
            # in UTC: the instant lies beyond every stored one, so the end itself means the same.
            end = datetime.max if moment.year == MAXYEAR else datetime.min
            return end.replace(tzinfo=UTC)


def _convert(function, value: str, name: str):
    try:
        return function(value)
    except ValueError:
        raise BackOfficeError(f"{name}: valor {value!r} inválido") from None


def element(name: str) -> etree._Element:
    return etree.Element(q(name), nsmap=NSMAP)


def sub(parent: etree._Element, name: str, value=None) -> etree._Element | None:
    """Append <name>value</name>; a None value writes nothing (the schema's minOccurs=0)."""
    if value is None:
        return None
    child = etree.SubElement(parent, q(name))
    child.text = _lexical(value)
    return child


def node(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, q(name))


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _lexical(value) -> str:
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
