"""The body of a SOAP request, made ready for spyne before it reads it: whole, decoded, and never
read past the message limit.

spyne's WsgiApplication reads CONTENT_LENGTH bytes and refuses a length above its
max_content_length before reading anything (RequestTooLongError, which the adapters answer
"acima do limite"). Without a Content-Length (a chunked request) it reads max_content_length
bytes and stops there without a word, so the beginning of a longer message would be taken for
the whole; and it never undoes a Content-Encoding. Here, such a body is read (at most one byte
past the limit) and decoded (at most one byte past the limit too, so a gzip bomb costs no more
than an honest message), and spyne is handed either the message with its true length, or a
body whose first read raises spyne's own RequestTooLongError: the path of an oversize
Content-Length, with the Content-Length the client sent (if any) left as it was.
"""

import io
import zlib
from dataclasses import dataclass

from spyne.error import RequestTooLongError
from werkzeug.wsgi import get_input_stream

_BLOCK = 64 * 1024
_GZIP = "gzip"
_DEFLATE = "deflate"
# Content-Encoding tokens (RFC 9110, 8.4.1; x-gzip is gzip's old name), by the format they mean.
_CODINGS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": _DEFLATE}


@dataclass(frozen=True)
class Unreadable:
    """A body that cannot be read as a message: the bytes as they arrived (to archive) and why,
    in Portuguese, naming its Content-Encoding."""

    raw: bytes
    reason: str


class _BadCoding(ValueError):
    pass


class _Broken(ValueError):
    """Compressed data that does not decompress; the reason is in Portuguese (zlib's is not)."""


def prepare(environ: dict, limit: int) -> Unreadable | None:
    """Rewrite `environ` so that spyne reads the body whole and decoded, or refuses it for its
    size exactly as it does a Content-Length above `limit`. A body whose coding cannot be undone
    is returned, for the caller to refuse in its own protocol."""
    codings = _codings(environ)
    declared = content_length(environ)
    if declared is not None and (not codings or declared > limit):
        return None  # spyne reads a declared length itself, and refuses one above the limit
    raw = _read_at_most(get_input_stream(environ), limit + 1)
    body = None if len(raw) > limit else _decoded(raw, codings, limit)
    if isinstance(body, Unreadable):
        return body
    if body is None:
        # The rest stays unread, never in memory: the server drops or discards it after the
        # answer (gunicorn's sync worker closes the connection).
        fail_reading(environ, RequestTooLongError())
        return None
    environ.pop("HTTP_CONTENT_ENCODING", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return None


def fail_reading(environ: dict, error: Exception) -> None:
    """Make spyne's first read of the body raise `error`: RequestTooLongError, or an adapter's
    own fault (already archived), which the adapters let through from there, so that the
    refusal is written like any other."""
    environ["wsgi.input"] = _Failing(error)
    if not content_length(environ):
        # spyne reads nothing from a body declared empty; without a length it reads on.
        environ.pop("CONTENT_LENGTH", None)


class _Failing(io.RawIOBase):
    def __init__(self, error: Exception) -> None:
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise self.error


def _codings(environ: dict) -> list[str]:
    """The codings applied to the body, in the order they were applied (identity means none)."""
    header = environ.get("HTTP_CONTENT_ENCODING", "")
    tokens = (token.strip().lower() for token in header.split(","))
    return [token for token in tokens if token and token != "identity"]


def content_length(environ: dict) -> int | None:
    """The request's Content-Length; None when it has none a number can be read from."""
    value = environ.get("CONTENT_LENGTH", "").strip()
    return int(value) if value.isdigit() else None


def _read_at_most(stream, size: int) -> bytes:
    """Up to `size` bytes: a stream may hand over less than asked before its end (a chunk)."""
    parts, read = [], 0
    while read < size:
        part = stream.read(min(_BLOCK, size - read))
        if not part:
            break
        parts.append(part)
        read += len(part)
    return b"".join(parts)


def _decoded(raw: bytes, codings: list[str], limit: int) -> bytes | Unreadable | None:
    try:
        return _decode(raw, codings, limit)
    except _BadCoding as exc:
        return Unreadable(raw, str(exc))


def _decode(raw: bytes, codings: list[str], limit: int) -> bytes | None:
    """`raw` with its codings undone, last applied first; None when it grows past `limit`."""
    for coding in reversed(codings):
        if coding not in _CODINGS:
            raise _BadCoding(
                f"corpo compactado em {coding[:40]!r} (Content-Encoding), que o gateway não lê; "
                "envie o XML sem compactação, ou compactado em gzip ou deflate"
            )
        try:
            raw = _inflate(raw, _CODINGS[coding], limit)
        except (_Broken, zlib.error) as exc:
            why = str(exc) if isinstance(exc, _Broken) else "não estão nesse formato"
            raise _BadCoding(
                f"corpo declarado compactado em {coding} (Content-Encoding) que não pôde ser "
                f"descompactado: os dados {why}"
            ) from None
        if raw is None:
            return None
    return raw


def _inflate(data: bytes, kind: str, limit: int) -> bytes | None:
    """One coding undone, never producing more than `limit` + 1 bytes; gzip may hold several
    members one after the other (RFC 1952, 2.2), deflate one stream."""
    out = bytearray()
    while True:
        inflater = zlib.decompressobj(_window_bits(kind, data))
        out += inflater.decompress(data, limit + 1 - len(out))
        if len(out) > limit:
            return None
        if not inflater.eof:
            raise _Broken("terminam antes do fim da compactação")
        # gzip tools may pad a file with zero bytes after its last member.
        data = inflater.unused_data.lstrip(b"\0") if kind == _GZIP else inflater.unused_data
        if not data:
            return bytes(out)
        if kind == _DEFLATE:
            raise _Broken("continuam depois do fim da compactação")


def _window_bits(kind: str, data: bytes) -> int:
    """gzip's header and trailer (16 + 15); for deflate, the zlib wrapper HTTP names so (RFC
    9110, 8.4.1.2), or the bare deflate stream some clients send instead (-15)."""
    if kind == _GZIP:
        return 16 + zlib.MAX_WBITS
    has_zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return zlib.MAX_WBITS if has_zlib_header else -zlib.MAX_WBITS
