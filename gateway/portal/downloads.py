"""Documents the portal hands over to be saved: PDFs, spreadsheets, XML files, credentialing
documents."""

import unicodedata
from urllib.parse import quote

from flask import Response

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# RFC 5987 attr-char: what filename* may carry unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


def download(content: bytes, file_name: str, content_type: str) -> Response:
    """A document to save, never rendered inline by the browser, under the name it was sent or
    made with."""
    return Response(
        content,
        content_type=content_type,
        headers={
            "Content-Disposition": disposition(file_name),
            "X-Content-Type-Options": "nosniff",
        },
    )


def disposition(file_name: str) -> str:
    """`attachment` with the name in plain ASCII (accents dropped, anything that could leave the
    quotes replaced) and, when the name is not plain ASCII, the whole name as filename* (RFC
    6266), which every current browser prefers: "Guia São João.pdf" is saved under that name."""
    plain = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in plain)
    value = f'attachment; filename="{plain}"'
    if plain != file_name:
        value += f"; filename*=UTF-8''{quote(file_name, safe=_ATTR_CHARS)}"
    return value
