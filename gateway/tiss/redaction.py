"""A received message handed back with its secrets masked and every other byte as it came.

senhaPrestador carries the MD5 of the provider's password, which is all the web service asks
for: whoever holds it can send messages as the provider. A WS-Security header some systems add
beside it carries the password itself (`wsse:Password`, PasswordText). So what every such
element holds between its tags (text, CDATA, comments) is replaced by asterisks, and a file in
which that cannot be made sure of is withheld whole. An argon2 hash, should one travel in a
message, is masked too.
"""

import codecs
import re

MASK = "********"
# The secret elements' names under any prefix, as a regex fragment (logs.redact uses it too):
# TISS's senhaPrestador and WS-Security's Password (whatever prefix the header gives its
# namespace; no TISS element is named Password, so the local name is enough).
ELEMENT = r"(?:[\w.-]+:)?(?:senhaPrestador|Password)"
# A stored password hash (logs.redact uses it too); it never holds markup characters.
ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$[^\s'\"<&]+")

# The start tag (attribute values may hold '>' or '/'; not a self-closing tag), what a
# simple-type element can hold (text, CDATA sections, comments, processing instructions), the
# end tag. Each alternative starts with a character the others cannot, so a file without the
# end tag fails in linear time.
_NAME = rf"<{ELEMENT}"
_ATTRIBUTES = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""
_PASSWORD = re.compile(
    rf"({_NAME}\b{_ATTRIBUTES}(?<!/)>)"
    r"(?:[^<]|<!\[CDATA\[(?:[^\]]|\](?!\]>))*\]\]>|<!--(?:[^-]|-(?!->))*-->|<\?(?:[^?]|\?(?!>))*\?>)*"
    rf"(</{ELEMENT}\s*>)"
)
_START_TAG = re.compile(rf"{_NAME}(?=[\s/>])")
_EMPTY_ELEMENT = re.compile(rf"{_NAME}\b{_ATTRIBUTES}/>")

# UTF-32's little-endian mark starts with UTF-16's: looked for first.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
# Without a mark, where the zero bytes of the first character (ASCII in any XML file: '<', or
# white space before it) fall tells the width and the order (XML 1.0, appendix F).
_UNMARKED = (
    (lambda b: b[0] != 0 and b[1:4] == b"\0\0\0", "utf-32-le"),
    (lambda b: b[:3] == b"\0\0\0" and b[3] != 0, "utf-32-be"),
    (lambda b: b[0] != 0 and b[1] == 0, "utf-16-le"),
    (lambda b: b[0] == 0 and b[1] != 0, "utf-16-be"),
)


def _encoding(raw: bytes, declared: str) -> tuple[bytes, str, str]:
    """(byte-order mark, codec that reads the rest, charset to name the file by). ASCII-based
    files are read as Latin-1, one character per byte, so that no byte changes on the way back;
    the bytes' own order wins over a declaration that says otherwise."""
    for mark, codec, name in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            return mark, codec, name
    if len(raw) >= 4 and b"\0" in raw[:4]:
        for matches, codec in _UNMARKED:
            if matches(raw):
                return b"", codec, codec.upper()
        return b"", declared, declared
    return b"", "latin-1", declared


def file_charset(raw: bytes, declared: str) -> str:
    """The charset to serve archived bytes under: the declared one, unless the bytes are UTF-16
    or UTF-32 (a file with a byte-order mark needs no declaration, and is archived as UTF-8)."""
    return _encoding(raw, declared)[2]


def redact_password(raw: bytes, charset: str) -> bytes:
    """`raw` with what each senhaPrestador and Password holds (and any argon2 hash) replaced by
    asterisks, every other byte kept. Nothing (b"") when the bytes cannot be read, or when such
    an element is written in a form the pattern does not cover: nothing is better than a leak."""
    mark, codec, _ = _encoding(raw, charset)
    try:
        text = raw[len(mark) :].decode(codec)
    except (LookupError, UnicodeDecodeError):
        return b""
    text, masked = _PASSWORD.subn(rf"\g<1>{MASK}\g<2>", text)
    if masked + len(_EMPTY_ELEMENT.findall(text)) != len(_START_TAG.findall(text)):
        return b""
    return mark + ARGON2.sub(MASK, text).encode(codec)
