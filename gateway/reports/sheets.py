"""The protocol reports as Excel workbooks (openpyxl): the same rows as the PDFs, with numbers
kept as numbers so the billing clerk can sum and filter them, and every money column adding up
to the protocol's totals."""

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from gateway.reports.pdf import money
from gateway.services.provider_area.protocols import ProtocolSummary
from gateway.tiss.codes import describe
from gateway.tiss.views import ZERO, GuideView

MONEY = '"R$" #,##0.00'
DAY = "DD/MM/YYYY"
_BOLD = Font(bold=True)
_HEAD = PatternFill("solid", fgColor="EEF3F9")


def _append(sheet, values: Sequence) -> None:
    """A row of values, every text kept as text. openpyxl takes a text that starts with "=" for a
    formula, and the texts here come from the provider's lot: a guide number or a description
    like =HYPERLINK(...) would run in the clerk's spreadsheet (formula injection)."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def _header(sheet, summary: ProtocolSummary, title: str, *, totals: bool = False) -> None:
    view = summary.view
    _append(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in (
        ("Operadora", f"{summary.operator_name} (Registro ANS {summary.registro_ans or '—'})"),
        ("Prestador", f"{summary.provider_name} ({view.codigo_prestador})"),
        ("Protocolo", view.numero),
        ("Lote", view.numero_lote),
        ("Tipo de guia", summary.guide_type_label),
        ("Situação", f"{view.status} - {summary.status_label}"),
    ):
        _append(sheet, [label, value])
        sheet.cell(sheet.max_row, 1).font = _BOLD
    if totals:
        # Above the listing, not as its last row: a clerk who sums a whole column of the listing
        # would count a total row twice.
        for label, value in (
            ("Valor informado", view.informado),
            ("Valor processado", view.processado),
            ("Valor glosado", view.glosado),
            ("Valor liberado", view.liberado),
        ):
            _append(sheet, [label, value])
            sheet.cell(sheet.max_row, 1).font = _BOLD
            sheet.cell(sheet.max_row, 2).number_format = MONEY
    sheet.append([])


def _day(text: str | None) -> date | str | None:
    """A TISS date (AAAA-MM-DD) as a date cell, shown DD/MM/AAAA and sortable; anything else as
    it came."""
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else text
    except ValueError:
        return text


def _table(
    sheet,
    header: Sequence[str],
    rows: Sequence[Sequence],
    money_columns: set[int],
    day_column: int | None = None,
):
    _append(sheet, header)
    first = sheet.max_row
    for cell in sheet[first]:
        cell.font, cell.fill = _BOLD, _HEAD
    for row in rows:
        if day_column is not None:
            row = [*row[: day_column - 1], _day(row[day_column - 1]), *row[day_column:]]
        _append(sheet, row)
        for column in money_columns:
            sheet.cell(sheet.max_row, column).number_format = MONEY
        if day_column is not None:
            sheet.cell(sheet.max_row, day_column).number_format = DAY
    sheet.freeze_panes = sheet.cell(first + 1, 1)
    for index, title in enumerate(header, 1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(title) + 4)


def _bytes(book: Workbook, generated_at: datetime) -> bytes:
    book.properties.creator = "tiss-gateway · Portal do Prestador"
    # openpyxl writes this naive value with a Z: it must be the UTC instant, not Brasília's
    # clock (Excel would show the file made three hours before it was).
    created = generated_at.astimezone(UTC) if generated_at.tzinfo else generated_at
    book.properties.created = created.replace(tzinfo=None)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _glosado(processado: Decimal | None, liberado: Decimal | None) -> Decimal | None:
    # As GuideView.glosado: what the analysis withheld, processed minus released.
    return processado - liberado if processado is not None and liberado is not None else None


def _guide_rows(guide: GuideView) -> list[list]:
    """The guide's rows of the analytic listing: one per item, one per glosa on the whole guide,
    and, when the guide's values are not those rows' sums, one with the difference, so that each
    money column adds up to the guide's values.

    A glosa on the guide lowers what the guide releases but not what its items release: its row
    has the glosa as Glosado and, negative, as Liberado. The difference row holds what the guide
    states beyond its items (the expenses a guide totals without listing them as items, values the
    operator gave the guide itself)."""
    start = [guide.numero_guia_prestador, guide.numero_carteira]
    rows = []
    for item in guide.items:
        rows.append(
            start
            + [
                item.sequencial,
                item.data_realizacao,
                item.codigo_tabela,
                item.codigo_procedimento,
                item.descricao,
                float(item.quantidade),
                item.valor_informado,
                item.valor_processado,
                _glosado(item.valor_processado, item.valor_liberado),
                item.valor_liberado,
                "; ".join(f"{g.code} {describe(g.code)}" for g in item.glosas),
            ]
        )
    for glosa in guide.glosas:
        text = f"{glosa.code} {describe(glosa.code)} ({money(glosa.valor)})"
        rows.append(
            start
            + [None, None, None, None, "Glosa da guia", None, None, None]
            + [glosa.valor, -glosa.valor]
            + [text + (f" – {glosa.descricao}" if glosa.descricao else "")]
        )
    informado = guide.valor_informado - sum((i.valor_informado for i in guide.items), ZERO)
    processado = liberado = None
    if guide.analyzed:
        processado = guide.processado - sum((i.valor_processado or ZERO for i in guide.items), ZERO)
        liberado = guide.liberado - (
            sum((i.valor_liberado or ZERO for i in guide.items), ZERO)
            - sum((g.valor for g in guide.glosas), ZERO)
        )
    if informado or processado or liberado:
        rows.append(
            start
            + [None, None, None, None, "Valores da guia fora dos itens", None]
            + [informado, processado, _glosado(processado, liberado), liberado, None]
        )
    return rows


def analytic(summary: ProtocolSummary, generated_at: datetime) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Analítico"
    _header(sheet, summary, "Relatório de Protocolo – Analítico", totals=True)
    _table(
        sheet,
        [
            "Guia",
            "Carteira",
            "Item",
            "Data",
            "Tabela",
            "Código",
            "Descrição",
            "Quantidade",
            "Informado",
            "Processado",
            "Glosado",
            "Liberado",
            "Glosas",
        ],
        [row for guide in summary.view.guides for row in _guide_rows(guide)],
        {9, 10, 11, 12},
        day_column=4,
    )
    return _bytes(book, generated_at)


def synthetic(summary: ProtocolSummary, generated_at: datetime) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Sintético"
    _header(sheet, summary, "Relatório de Protocolo – Sintético")
    view = summary.view
    rows = [
        [
            g.numero_guia_prestador,
            g.numero_carteira,
            g.data_realizacao,
            g.valor_informado,
            g.processado,
            g.glosado,
            g.liberado,
        ]
        for g in view.guides
    ]
    rows.append(["Total", None, None, view.informado, view.processado, view.glosado, view.liberado])
    _table(
        sheet,
        ["Guia", "Carteira", "Atendimento", "Informado", "Processado", "Glosado", "Liberado"],
        rows,
        {4, 5, 6, 7},
        day_column=3,
    )
    for cell in sheet[sheet.max_row]:
        cell.font = _BOLD
    return _bytes(book, generated_at)
