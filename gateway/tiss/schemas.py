"""Official TISS schema sets, keyed by version (`Padrao`), verified by SHA-256 before use.

4.02.00 and 4.03.00 ship in the PyPI package `tiss`; other versions are imported from the ANS
package by the operator. A set is only used after every file matches the SHA-256 the gateway
expects, and it is compiled once per process.
"""

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from lxml import etree

from gateway.tiss.base64binary import base64binary_elements, element_value, is_base64binary
from gateway.tiss.namespaces import version_file_tag
from gateway.tiss.official_sha256 import BUILTIN_SHA256

ORIGIN_PACKAGE = "pypi:tiss==0.4.0"
ORIGIN_IMPORTED = "imported"

_SET_FILE = re.compile(
    r"^tiss(WebServices|ComplexTypes|SimpleTypes|Guias)?V(\d)_(\d\d)_(\d\d)\.xsd$"
)
SHARED_FILES = ("tissAssinaturaDigital_v1.01.xsd", "xmldsig-core-schema.xsd")


class SchemaSetError(Exception):
    """A schema set is incomplete, does not match its SHA-256 values, or does not compile."""


def expected_file_names(version: str) -> list[str]:
    tag = version_file_tag(version)
    kinds = ("", "WebServices", "ComplexTypes", "SimpleTypes", "Guias")
    return [f"tiss{kind}{tag}.xsd" for kind in kinds] + list(SHARED_FILES)


def version_of_files(names: list[str]) -> str:
    """The single TISS version a set of schema file names belongs to."""
    versions = {
        f"{m.group(2)}.{m.group(3)}.{m.group(4)}" for n in names if (m := _SET_FILE.match(n))
    }
    if len(versions) != 1:
        raise SchemaSetError(
            f"expected files of exactly one TISS version, found {sorted(versions)}"
        )
    return versions.pop()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_files(directory: Path, expected: Mapping[str, str]) -> None:
    """Raise SchemaSetError unless every expected file exists with its SHA-256."""
    for name, digest in expected.items():
        path = directory / name
        if not path.is_file():
            raise SchemaSetError(f"{path}: missing")
        actual = sha256_file(path)
        if actual != digest:
            raise SchemaSetError(f"{path}: SHA-256 {actual} does not match expected {digest}")


def _schema_parser() -> etree.XMLParser:
    # The official files are trusted once their SHA-256 matched; xmldsig-core-schema.xsd carries an
    # internal DTD, so DTDs load, but nothing is ever fetched from the network.
    return etree.XMLParser(no_network=True, resolve_entities=True, load_dtd=True)


def _declarations_parser() -> etree.XMLParser:
    # Reading the files' declarations (not compiling them): xmldsig-core-schema.xsd's DOCTYPE
    # names an external DTD, which load_dtd would try to fetch; its internal subset (entities,
    # xmlns:ds, which the root declares anyway) is read without it.
    return etree.XMLParser(no_network=True, resolve_entities=True, load_dtd=False)


def compile_schema(path: Path) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(str(path), _schema_parser()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        raise SchemaSetError(f"{path.name} does not compile: {exc}") from None


@dataclass(frozen=True)
class SchemaError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"linha {self.line}: {self.message}"


# libxml2's own wording, so that what explains its errors to people (gateway/tiss/friendly.py)
# explains this one too.
_NOT_BASE64 = (
    "Element '{tag}': '{value}' is not a valid value of the atomic type 'xs:base64Binary'."
)
_ERROR_ELEMENT = re.compile(r"^Element '([^']+)'")
_QUOTED_CHARACTERS = 40


def _quoted(value: str) -> str:
    """The start of a value: libxml2 quotes a value whole, and this one can be 48 KiB of
    biometry (in the fault string, the archive and the logs)."""
    collapsed = " ".join(value.split())
    if len(collapsed) <= _QUOTED_CHARACTERS:
        return collapsed
    return collapsed[:_QUOTED_CHARACTERS] + "..."


@dataclass
class SchemaSet:
    version: str
    origin: str
    directory: Path
    sha256: dict[str, str]
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _domains: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def webservices_file(self) -> str:
        return f"tissWebServices{version_file_tag(self.version)}.xsd"

    @property
    def message_file(self) -> str:
        return f"tiss{version_file_tag(self.version)}.xsd"

    def verify(self) -> None:
        verify_files(self.directory, self.sha256)

    @cached_property
    def glosa_codes(self) -> frozenset[str]:
        """The table-38 codes this version's dm_tipoGlosa accepts (they differ by version:
        3291 PROTOCOLO NÃO LOCALIZADO, for one, is not in 4.02.00)."""
        return self.domain("dm_tipoGlosa")

    @cached_property
    def _simple_types(self) -> etree._ElementTree:
        path = self.directory / f"tissSimpleTypes{version_file_tag(self.version)}.xsd"
        return etree.parse(str(path), _schema_parser())

    def domain(self, type_name: str) -> frozenset[str]:
        """The values an enumerated simple type of this version accepts (dm_CBOS, dm_UF, ...)."""
        found = self._domains.get(type_name)
        if found is None:
            values = self._simple_types.xpath(
                "//xs:simpleType[@name=$name]//xs:enumeration/@value",
                name=type_name,
                namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
            )
            found = self._domains[type_name] = frozenset(v for v in values if v)
        return found

    def _schema(self, file_name: str) -> etree.XMLSchema:
        # Compiled once per thread: an XMLSchema object keeps a single error log, which every
        # validation clears, so two threads sharing one would read each other's (empty) logs.
        # Gunicorn's sync workers have one thread, so this is once per process in production.
        compiled = getattr(self._local, "compiled", None)
        if compiled is None:
            compiled = self._local.compiled = {}
        schema = compiled.get(file_name)
        if schema is None:
            schema = compiled[file_name] = compile_schema(self.directory / file_name)
        return schema

    def compile(self) -> None:
        self._schema(self.webservices_file)
        self._schema(self.message_file)
        self.base64_elements  # noqa: B018 - read at start, so that no request pays for it

    @cached_property
    def base64_elements(self) -> tuple[str, ...]:
        """Clark names of the elements this set types as xs:base64Binary (or a type derived
        from it), read from its files once."""
        try:
            roots = [
                etree.parse(str(self.directory / name), _declarations_parser()).getroot()
                for name in self.sha256
            ]
        except (etree.XMLSyntaxError, OSError) as exc:
            raise SchemaSetError(f"{self.version}: declarations unreadable: {exc}") from None
        return tuple(sorted(base64binary_elements(roots)))

    def is_compiled(self) -> bool:
        """Whether the calling thread has both schemas compiled (the gateway compiles them at
        start, so a request never pays for it)."""
        compiled = getattr(self._local, "compiled", None) or {}
        return self.webservices_file in compiled and self.message_file in compiled

    def validate(self, element: etree._Element) -> list[SchemaError]:
        """Every error the schema finds (not just the first). `element` is a *WS web-service
        element or a `mensagemTISS` document root."""
        name = etree.QName(element).localname
        schema = self._schema(
            self.message_file if name == "mensagemTISS" else self.webservices_file
        )
        errors = []
        if not schema.validate(element):
            errors = [SchemaError(e.line, e.message) for e in schema.error_log]
        return errors + self._base64_errors(element, errors)

    def _base64_errors(
        self, element: etree._Element, reported: list[SchemaError]
    ) -> list[SchemaError]:
        """The base64Binary elements libxml2 let through with characters outside base64 (it
        skips them). One pass over the elements of those names only: nearly free on a lot."""
        names = self.base64_elements
        if not names:  # iter() with no name would visit every element
            return []
        # An element libxml2 already refused (a wrong length, say) is not reported twice.
        seen = {(e.line, m.group(1)) for e in reported if (m := _ERROR_ELEMENT.match(e.message))}
        errors = []
        for el in element.iter(*names):
            value = element_value(el)
            if not is_base64binary(value) and (el.sourceline, el.tag) not in seen:
                message = _NOT_BASE64.format(tag=el.tag, value=_quoted(value))
                errors.append(SchemaError(el.sourceline or 0, message))
        return errors


class SchemaRegistry:
    """Schema sets by version. Only verified sets are added."""

    def __init__(self) -> None:
        self._sets: dict[str, SchemaSet] = {}

    def add(self, schema_set: SchemaSet) -> None:
        schema_set.verify()
        self._sets[schema_set.version] = schema_set

    def get(self, version: str) -> SchemaSet | None:
        return self._sets.get(version)

    def versions(self) -> list[str]:
        return sorted(self._sets)

    def __iter__(self):
        return iter(self._sets[v] for v in self.versions())


def package_schema_dir(version: str) -> Path:
    """Where the `tiss` package keeps the official files of `version`."""
    return Path(str(resources.files("tiss") / "_data" / "schemas" / version))


def builtin_sets() -> list[SchemaSet]:
    return [
        SchemaSet(version, ORIGIN_PACKAGE, package_schema_dir(version), dict(digests))
        for version, digests in BUILTIN_SHA256.items()
    ]
