"""What every PDF of the portal shares: A4 pages with the operator's heading, labelled fields,
tables with totals, Brazilian money and dates, and a footer with the page number.

Texts are drawn in reportlab's built-in Helvetica (ISO-8859-1 and the extras of Windows-1252,
nothing embedded); any other character in the fallback fonts of gateway.reports.fonts.
"""

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gateway.reports import fonts
from gateway.services.gateway import BRAZIL
from storage.types import as_utc

BLUE = colors.HexColor("#0a4f94")
LINE = colors.HexColor("#b8c4d2")
SOFT = colors.HexColor("#eef3f9")

_BASE = getSampleStyleSheet()
TITLE = ParagraphStyle("title", parent=_BASE["Title"], fontSize=16, textColor=BLUE, spaceAfter=2)
SUBTITLE = ParagraphStyle("subtitle", parent=_BASE["Normal"], fontSize=9, alignment=1)
HEADING = ParagraphStyle(
    "heading", parent=_BASE["Heading2"], fontSize=11, textColor=BLUE, spaceBefore=8, spaceAfter=4
)
TEXT = ParagraphStyle("text", parent=_BASE["Normal"], fontSize=8.5, leading=10.5)
SMALL = ParagraphStyle("small", parent=TEXT, fontSize=7.5, leading=9)
LABEL = ParagraphStyle("label", parent=SMALL, textColor=colors.HexColor("#4a5868"))
CELL = ParagraphStyle("cell", parent=TEXT, fontSize=8, leading=9.5)
NUMBER = ParagraphStyle("number", parent=CELL, alignment=TA_RIGHT)


def money(value: Decimal | None) -> str:
    """R$ 1.234,56"""
    value = value if value is not None else Decimal("0")
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {text}"


def day(value: date | datetime | None) -> str:
    # Not strftime("%Y"): it writes the year 1 as "1", not "0001".
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}" if value is not None else "—"


def iso_day(text: str | None) -> str:
    """A TISS date (AAAA-MM-DD) as DD/MM/AAAA; anything else as it came."""
    try:
        return day(date.fromisoformat(text)) if text else "—"
    except ValueError:
        return text


def quantity(value: Decimal) -> str:
    """1.0000 -> 1; 1.5000 -> 1,5."""
    return format(value.normalize(), "f").replace(".", ",")


def moment(value: datetime | None) -> str:
    """DD/MM/AAAA HH:MM in Brazil's civil time, as the portal's pages show it: stored instants
    are UTC (a naive one too), and a lot received at 01:30 UTC was sent the evening before."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(BRAZIL).strftime("%d/%m/%Y %H:%M")


def document(doc: str | None) -> str:
    if doc and len(doc) == 14:
        return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"
    if doc and len(doc) == 11 and doc.isdigit():
        return f"{doc[:3]}.{doc[3:6]}.{doc[6:9]}-{doc[9:]}"
    return doc or "—"


def p(text: object, style: ParagraphStyle = TEXT) -> Paragraph:
    """A paragraph of plain text (reportlab reads markup: everything typed is escaped)."""
    return Paragraph(fonts.markup("" if text is None else str(text), style.fontName), style)


FOOTER_FONT, FOOTER_SIZE = "Helvetica", 7
ELLIPSIS = "…"


def shortened(text: str, fits) -> str:
    """The longest start of `text` that, with an ellipsis, `fits` (all of it if it fits)."""
    if fits(text):
        return text
    low, high = 0, len(text)  # text[:low] + ELLIPSIS fits; text[:high] + ELLIPSIS does not
    while high - low > 1:
        middle = (low + high) // 2
        if fits(text[:middle].rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle
    return text[:low].rstrip() + ELLIPSIS


def footer_line(issuer: str, title: str, issued: str, room: float) -> str:
    """'<issuer> · <title> · emitido em <issued>' in at most `room` points: an operator's name
    may have 200 characters, more than a line holds. The name (the issuer before its last ' · ',
    which the registro ANS follows) is shortened first, so the registro ANS, the title and the
    date stay; the heading of the first page has the whole name."""

    def fits(text: str) -> bool:
        return fonts.width(text, FOOTER_FONT, FOOTER_SIZE) <= room

    name, sep, registro = issuer.rpartition(" · ")
    if not sep:
        name, registro = issuer, ""
    tail = f"{sep}{registro} · {title} · emitido em {issued}"
    if fits(ELLIPSIS + tail):
        return shortened(name, lambda head: fits(head + tail)) + tail
    return shortened(f"{issuer} · {title} · emitido em {issued}", fits)


class Report:
    """A document being written: headings, fields, tables; `bytes()` lays it out."""

    def __init__(self, title: str, issuer: str, subtitle: str = "", *, wide: bool = False) -> None:
        self.title = title
        self.issuer = issuer
        self.wide = wide
        self.story: list = [p(title, TITLE), p(issuer, SUBTITLE)]
        if subtitle:
            self.story.append(p(subtitle, SUBTITLE))
        self.story.append(Spacer(1, 4 * mm))

    @property
    def width(self) -> float:
        size = landscape(A4) if self.wide else A4
        return size[0] - 30 * mm

    def heading(self, text: str) -> None:
        self.story.append(p(text, HEADING))

    def text(self, text: str, style: ParagraphStyle = TEXT) -> None:
        self.story.append(p(text, style))

    def space(self, height_mm: float = 4) -> None:
        self.story.append(Spacer(1, height_mm * mm))

    def fields(self, pairs: Sequence[tuple[str, object]], columns: int = 2) -> None:
        """Labelled values in a grid, like a printed form."""
        cells = [
            [p(label, LABEL), p(value if value not in (None, "") else "—", TEXT)]
            for label, value in pairs
        ]
        rows = []
        for start in range(0, len(cells), columns):
            chunk = cells[start : start + columns]
            chunk += [[p(""), p("")]] * (columns - len(chunk))
            rows.append([part for cell in chunk for part in cell])
        label_w = self.width / columns * 0.38
        value_w = self.width / columns - label_w
        table = Table(rows, colWidths=[label_w, value_w] * columns)
        table.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.5, LINE),
                    ("INNERGRID", (0, 0), (-1, -1), 0.25, LINE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    *[("BACKGROUND", (c, 0), (c, -1), SOFT) for c in range(0, 2 * columns, 2)],
                ]
            )
        )
        self.story.append(table)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float],
        *,
        numeric: Sequence[int] = (),
        total: Sequence[object] | None = None,
    ) -> None:
        """A listing; `widths` are fractions of the page width, `numeric` columns align right."""

        def cell(value: object, column: int, bold: bool = False) -> Paragraph:
            style = NUMBER if column in numeric else CELL
            if bold:
                style = ParagraphStyle("bold", parent=style, fontName="Helvetica-Bold")
            return p(value if value is not None else "—", style)

        data = [[cell(h, i, bold=True) for i, h in enumerate(header)]]
        data += [[cell(v, i) for i, v in enumerate(row)] for row in rows]
        if total is not None:
            data.append([cell(v, i, bold=True) for i, v in enumerate(total)])
        table = Table(data, colWidths=[w * self.width for w in widths], repeatRows=1)
        style = [
            ("BOX", (0, 0), (-1, -1), 0.5, LINE),
            ("INNERGRID", (0, 0), (-1, -1), 0.25, LINE),
            ("BACKGROUND", (0, 0), (-1, 0), SOFT),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if total is not None:
            style.append(("BACKGROUND", (0, -1), (-1, -1), SOFT))
        table.setStyle(TableStyle(style))
        self.story.append(table)

    def keep(self, *flowables) -> None:
        self.story.append(KeepTogether(list(flowables)))

    def bytes(self, generated_at: datetime) -> bytes:
        out = io.BytesIO()
        size = landscape(A4) if self.wide else A4
        doc = SimpleDocTemplate(
            out,
            pagesize=size,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=14 * mm,
            bottomMargin=16 * mm,
            title=self.title,
            author=self.issuer,
            creator="tiss-gateway · Portal do Prestador",
        )
        left, right = 15 * mm, size[0] - 15 * mm
        issued = moment(generated_at)

        def on_page(canvas, document_) -> None:
            number = f"Página {document_.page}"
            room = right - left - stringWidth(number, FOOTER_FONT, FOOTER_SIZE) - 4 * mm
            canvas.saveState()
            canvas.setFillColor(colors.HexColor("#4a5868"))
            line = footer_line(self.issuer, self.title, issued, room)
            fonts.draw(canvas, left, 9 * mm, line, FOOTER_FONT, FOOTER_SIZE)
            canvas.setFont(FOOTER_FONT, FOOTER_SIZE)
            canvas.drawRightString(right, 9 * mm, number)
            canvas.restoreState()

        doc.build(self.story, onFirstPage=on_page, onLaterPages=on_page)
        return out.getvalue()
