"""Fonts for texts the PDFs' Helvetica cannot draw.

reportlab's built-in Helvetica (WinAnsi) draws ISO-8859-1 and the extras of Windows-1252 without
embedding anything, and stays the font of every document. A lot sent in UTF-8 may carry any
character (Cyrillic, CJK, symbols, emoji), and Helvetica draws each of those as a black box. So
every text is cut into runs: what Helvetica draws stays in it, and the rest goes to the first of
FALLBACKS that has the character, embedded as a subset (only the characters used).

The font files come from pinned packages (pyproject.toml), so `pip install` alone is enough:
- Noto Sans (Latin, Greek, Cyrillic), Noto Sans Symbols and Noto Emoji (monochrome), SIL OFL 1.1,
  from manimgx-fonts;
- WenQuanYi Micro Hei (CJK, and the symbols the others lack, such as ✓ and ≥), Apache 2.0, from
  paperang-p2-fonts-cjk; the same file as Debian's fonts-wqy-microhei.
Bold texts (headings, totals) fall back to these regular faces: the packages have no bold.
"""

import hashlib
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fallback:
    name: str  # reportlab's name of the registered font
    package: str  # the Python package (import name) that ships the file
    file: str
    sha256: str  # of the file as first checked: small publishers' packages, so a file that
    # changed under the same name (a republished wheel, a tampered mirror) is not parsed


FALLBACKS = (
    Fallback(
        "TissNotoSans",
        "manimgx_fonts",
        "NotoSans[wght].ttf",
        "fb53504de62e767a54695416123d68d67f71c9b69722175184ad56e7dd13547b",
    ),
    Fallback(
        "TissNotoSymbols",
        "manimgx_fonts",
        "NotoSansSymbols[wght].ttf",
        "63724daeff6755a45933b9a5e3a3b41df5df8fe925c0f4c991f2f68c08a4182d",
    ),
    Fallback(
        "TissCJK",
        "paperang_p2_fonts_cjk",
        "fonts/wqy-microhei.ttc",
        "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3",
    ),
    Fallback(
        "TissNotoEmoji",
        "manimgx_fonts",
        "NotoEmoji[wght].ttf",
        "de6c18832938afc99caf132b39d6a30a19bac7f2e812e28db2535b4608d27551",
    ),
)


@cache
def _fallbacks() -> tuple[tuple[str, frozenset[int]], ...]:
    """The fallback fonts that could be loaded, registered with reportlab, each with the code
    points it has; on first use, not at import (the CJK file takes ~0.2 s to read)."""
    _fix_astral_to_unicode()
    loaded = []
    for fallback in FALLBACKS:
        try:
            content = files(fallback.package).joinpath(fallback.file).read_bytes()
            if hashlib.sha256(content).hexdigest() != fallback.sha256:
                log.error(
                    "reports: font %s (%s) not loaded: its SHA-256 is not the one pinned",
                    fallback.file,
                    fallback.package,
                )
                continue
            font = TTFont(fallback.name, io.BytesIO(content))
        except Exception:  # a broken install draws boxes, as before, instead of failing a PDF
            log.exception("reports: font %s (%s) not loaded", fallback.file, fallback.package)
            continue
        pdfmetrics.registerFont(font)
        loaded.append((fallback.name, frozenset(font.face.charToGlyph)))
    return tuple(loaded)


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _font_of(char: str, primary: str, encoding: str) -> str:
    if _encodable(char, encoding):
        return primary
    code = ord(char)
    loaded = _fallbacks()
    for name, chars in loaded:
        if code in chars:
            return name
    # In no font: the first fallback draws its "missing" glyph, but the PDF's text keeps the
    # character (copying and searching still find it), unlike Helvetica's black box.
    return loaded[0][0] if loaded else primary


def runs(text: str, primary: str = "Helvetica") -> Iterator[tuple[str, str]]:
    """(font, text) pieces of `text`, in order, each drawable in its font."""
    encoding = pdfmetrics.getFont(primary).encName
    if _encodable(text, encoding):  # nearly every text: one piece, nothing looked up
        if text:
            yield primary, text
        return
    font, start = None, 0
    for index, char in enumerate(text):
        current = _font_of(char, primary, encoding)
        if current != font:
            if font is not None:
                yield font, text[start:index]
            font, start = current, index
    if font is not None:
        yield font, text[start:]


def markup(text: str, primary: str = "Helvetica") -> str:
    """`text` as paragraph markup: escaped (reportlab reads markup, and everything here was
    typed by someone), each run outside `primary` in a <font> of its fallback."""
    return "".join(
        escape(piece) if font == primary else f'<font face="{font}">{escape(piece)}</font>'
        for font, piece in runs(text, primary)
    )


def width(text: str, font: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(piece, f, size) for f, piece in runs(text, font))


def draw(canvas, x: float, y: float, text: str, font: str, size: float) -> None:
    """canvas.drawString, with the fallbacks."""
    for face, piece in runs(text, font):
        canvas.setFont(face, size)
        canvas.drawString(x, y, piece)
        x += pdfmetrics.stringWidth(piece, face, size)


_ASTRAL = re.compile(r"^(<[0-9A-F]{2}> )<([0-9A-F]{5,6})>$", re.MULTILINE)


def _fix_astral_to_unicode() -> None:
    """reportlab (5.1) writes a character above U+FFFF into an embedded font's ToUnicode map as
    its bare code point (<1F642>), which PDF readers reject, so an emoji is drawn but cannot be
    copied or searched. The map wants UTF-16BE (<D83DDE42>). Applied only while reportlab
    still has the fault."""
    original = ttfonts.makeToUnicodeCMap
    if "<1F642>" not in original("probe", [0x1F642]):
        return

    def utf16(match: re.Match) -> str:
        return f"{match[1]}<{chr(int(match[2], 16)).encode('utf-16-be').hex().upper()}>"

    def make_to_unicode_cmap(fontname, subset):
        return _ASTRAL.sub(utf16, original(fontname, subset))

    ttfonts.makeToUnicodeCMap = make_to_unicode_cmap
