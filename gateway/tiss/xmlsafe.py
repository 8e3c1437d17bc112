"""Hardened parsing of untrusted XML.

No DTD (internal or external), no entities, no network, no huge-tree mode, and explicit limits
on size and nesting depth. Anything that trips one of these is refused with `UnsafeXml`, never
parsed "as well as possible".
"""

import codecs
import functools
import re
from dataclasses import dataclass

from lxml import etree

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64


class UnsafeXml(ValueError):
    """The bytes are not XML we are willing to read. `reason` is a short, safe explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class XmlLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


@dataclass(frozen=True)
class ParsedXml:
    root: etree._Element
    # The encoding the document was read in, upper case: its XML declaration's, else the
    # transport's charset (parse_untrusted), else UTF-8.
    declared_encoding: str


class _RefuseExternal(etree.Resolver):
    """Defence in depth: should libxml2 ever try to fetch a DTD or entity, fail instead."""

    def resolve(self, url, pubid, context):  # noqa: ANN001 - lxml's signature
        raise UnsafeXml("recursos externos não são permitidos")


def _parser(encoding: str | None = None) -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe to share across threads.
    parser = etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        collect_ids=False,
    )
    parser.resolvers.add(_RefuseExternal())
    return parser


def hardened_parser() -> etree.XMLParser:
    """A fresh parser with the settings above, for libraries that re-read a tree the gateway
    already parsed (signxml serializes and re-parses the message whose signature it checks)."""
    return _parser()


def parse_untrusted(
    data: bytes, limits: XmlLimits = XmlLimits(), transport_charset: str | None = None
) -> ParsedXml:
    """Parse bytes received from outside. Raises UnsafeXml on anything unsafe or malformed.
    `transport_charset` is the charset the bytes came labelled with (HTTP's Content-Type): it
    decides only when the document names no encoding itself (see _external_encoding)."""
    if len(data) > limits.max_bytes:
        raise UnsafeXml(f"mensagem com {len(data)} bytes, acima do limite de {limits.max_bytes}")
    if not data.strip():
        raise UnsafeXml("mensagem vazia")
    external = _external_encoding(data, transport_charset)
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser(external)))
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"XML malformado: {_syntax_error(exc)}") from None
    except (ValueError, LookupError) as exc:  # unknown or lying encoding declarations
        raise UnsafeXml(f"XML ilegível: {exc}") from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml("DTD não é permitida em mensagens TISS")
    root = tree.getroot()
    if _has_entity_reference(root):
        raise UnsafeXml("entidades XML não são permitidas em mensagens TISS")
    if _deeper_than(root, limits.max_depth):
        raise UnsafeXml(f"aninhamento de elementos acima de {limits.max_depth} níveis")
    encoding = external or docinfo.encoding or "UTF-8"
    return ParsedXml(root=root, declared_encoding=encoding.upper())


_BOMS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF16_LE,
)
# XML 1.0, 2.8 and 4.3.3: `<?xml version="..." encoding="...` at the very start.
_ENCODING_DECLARATION = re.compile(rb"<\?xml\s+version\s*=\s*([\"'])[^\"']*\1\s+encoding\s*=")


def _external_encoding(data: bytes, charset: str | None) -> str | None:
    """The transport's charset when it is the one that applies (XML 1.0 appendix F, RFC 7303
    8.1): the document has no byte-order mark, no encoding declaration and is not in a 16 or
    32-bit encoding (a zero byte among its first two, which libxml2 detects itself); and the
    charset is one the parser knows (an unknown label is no information, XML's UTF-8 applies).
    A document that names its encoding keeps it whatever the label says: clients' HTTP
    libraries often write a default label that the document contradicts."""
    if not charset or data.startswith(_BOMS) or b"\0" in data[:2]:
        return None
    if _ENCODING_DECLARATION.match(data):
        return None
    try:
        etree.XMLParser(encoding=charset)
    except LookupError:
        return None
    return charset


# libxml2's commonest complaints, in the providers' language (its own text is English).
_SYNTAX_ERRORS = {
    etree.ErrorTypes.ERR_DOCUMENT_EMPTY: "o arquivo não começa com XML (é outro tipo de arquivo?)",
    etree.ErrorTypes.ERR_INVALID_ENCODING: (
        "caracteres que não existem na codificação declarada (encoding do cabeçalho <?xml?>)"
    ),
    etree.ErrorTypes.ERR_INVALID_CHAR: "caractere não permitido em XML",
    etree.ErrorTypes.ERR_TAG_NAME_MISMATCH: "uma tag de fechamento não corresponde à aberta",
    etree.ErrorTypes.ERR_TAG_NOT_FINISHED: "o arquivo termina antes de fechar todas as tags",
    etree.ErrorTypes.ERR_UNDECLARED_ENTITY: "entidade XML não declarada",
    etree.ErrorTypes.ERR_DOCUMENT_END: "há conteúdo depois do fim do documento",
    # Systems that write a blank line or a space before <?xml ...?> (PHP scripts, often).
    etree.ErrorTypes.ERR_RESERVED_XML_NAME: (
        "a declaração XML (<?xml ...?>) deve ser a primeira coisa do arquivo: nada antes dela, "
        "nem linhas em branco ou espaços"
    ),
}


def _syntax_error(exc: etree.XMLSyntaxError) -> str:
    """What is wrong and where, in Portuguese."""
    what = _SYNTAX_ERRORS.get(exc.code, "estrutura XML inválida")
    line, column = exc.position if exc.position else (exc.lineno, 0)
    return f"{what} (linha {line}, coluna {column})"


def _has_entity_reference(root: etree._Element) -> bool:
    # Without a DTD only undefined entity references could survive parsing; lxml refuses those,
    # but an explicit check keeps the guarantee independent of libxml2's defaults.
    return any(True for _ in root.iter(etree.Entity))


def _deeper_than(root: etree._Element, max_depth: int) -> bool:
    # One XPath in C walks the tree once; cheaper than tracking depth in Python.
    return bool(_depth_probe(max_depth)(root))


@functools.cache
def _depth_probe(max_depth: int) -> etree.XPath:
    """Compiled once per limit: compiling the path cost more than running it on a status query."""
    return etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")
