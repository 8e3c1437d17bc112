"""Every document the provider area lets a provider download (Capa de Lote, the protocol reports
as PDF and as Excel, the statements of analysis and of payment, the eligibility receipt), fetched
through the portal the way a provider's clerk does, for protocols the gateway accepted with
unusual but valid data: texts in the whole Latin-1 and Windows-1252 range and outside it, texts at
their maximum length, 100 guides with many items, values of zero, one cent and the largest the
standard allows, long operator names.

Each test checks what the clerk checks in the document: the texts are there and readable (pypdf's
text extraction, or the workbook's cells), nothing is drawn off the page or over other text
(pypdf's text positions, with reportlab's font metrics), every page of a long table keeps its
header and page number, and the totals are right (in reais, and as numbers in the workbooks)."""

import dataclasses
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from sqlalchemy import update

from gateway.reports import fonts
from gateway.services.admin import set_operator
from gateway.services.backoffice.analysis import (
    GlosaInput,
    GuideAnalysis,
    ItemAnalysis,
    record_analysis,
)
from gateway.services.backoffice.payments import (
    Adjustment,
    PaymentInput,
    ProtocolPayment,
    record_payment,
)
from gateway.services.backoffice.staff import add_staff
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss.namespaces import q
from gateway.tiss.samples import SampleGuide, lote_guias_ws
from storage import models
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.backoffice_client import force_status
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.test_schema_valid_extremes import accepted, rehash, send
from tests.tissclient import sample_lot

AREA = pa.AREA
D = Decimal
PAID_ON = date(2026, 11, 30)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}  # the portal over plain HTTP, as in the portal tests


@pytest.fixture
def analyst(gw):
    """The operator's analyst, as the back office records analyses and payments."""
    return add_staff(gw.db, "analista.relatorios", "Analise#2026")


# --- lots, analysis and payment --------------------------------------------------------------


def sadt_lot(client, numero_lote: str, guides: list[SampleGuide], *, description=None) -> str:
    """Provider A's lot of SP/SADT guides over tissLoteGuias (UTF-8, so any character can be
    sent; every item of every guide described as `description` when given); the protocol."""
    sample = sample_lot(
        PROVIDER_A, numero_lote, registro_ans=REGISTRO_ANS, guide_type="guiaSP-SADT", guides=guides
    )
    message = lote_guias_ws(sample, hash_value="0")
    if description is not None:
        for element in message.iter(q("descricaoProcedimento")):
            element.text = description
    return accepted(send(client, rehash(message)))


def with_items(client, numero_lote: str, guides: list[SampleGuide], items: dict) -> str:
    """Like sadt_lot, with the guides named in `items` carrying those item values instead of the
    sample's two halves (the guide's total stays the sum of its items)."""
    sample = sample_lot(
        PROVIDER_A, numero_lote, registro_ans=REGISTRO_ANS, guide_type="guiaSP-SADT", guides=guides
    )
    message = lote_guias_ws(sample, hash_value="0")
    for guide in message.find(f".//{q('guiasTISS')}"):
        numero = guide.findtext(f".//{q('numeroGuiaPrestador')}")
        if numero not in items:
            continue
        executed = guide.find(q("procedimentosExecutados"))
        model = executed[0]
        for old in list(executed):
            executed.remove(old)
        for seq, value in enumerate(items[numero], start=1):
            item = etree.fromstring(etree.tostring(model))
            item.find(q("sequencialItem")).text = str(seq)
            item.find(f"{q('procedimento')}/{q('descricaoProcedimento')}").text = f"ITEM {seq}"
            item.find(q("valorUnitario")).text = f"{value:.2f}"
            item.find(q("valorTotal")).text = f"{value:.2f}"
            executed.append(item)
        total = f"{sum(items[numero], D('0')):.2f}"
        guide.find(f"{q('valorTotal')}/{q('valorProcedimentos')}").text = total
        guide.find(f"{q('valorTotal')}/{q('valorTotalGeral')}").text = total
    return accepted(send(client, rehash(message)))


def analysed(gw, analyst, numero: str, guides=()) -> None:
    """The operator's analysis, recorded by the back-office use case (protocol in 2 first)."""
    force_status(gw, numero, 2)
    record_analysis(gw.db, analyst, numero, list(guides), glosa_tables=gw.glosa_tables())


def paid(gw, analyst, numeros: list[str], adjustments=()) -> None:
    record_payment(
        gw.db,
        analyst,
        PaymentInput(
            provider_code=PROVIDER_A.code,
            data_pagamento=PAID_ON,
            competencia="202611",
            forma_pagamento="1",
            protocols=[ProtocolPayment(n) for n in numeros],
            adjustments=list(adjustments),
            banco="341",
            agencia="1234",
            conta="99887-6",
        ),
    )


def rename_provider_a(gw, name: str) -> None:
    with gw.db.transaction() as s:
        s.execute(
            update(models.Provider)
            .where(models.Provider.codigo_na_operadora == PROVIDER_A.code)
            .values(name=name)
        )


# --- the documents, as the clerk downloads them ----------------------------------------------

PATHS = {
    "capa.pdf": "/capa-de-lote/{n}.pdf",
    "analitico.pdf": "/relatorios/{n}/analitico.pdf",
    "sintetico.pdf": "/relatorios/{n}/sintetico.pdf",
    "analise.pdf": "/demonstrativos/analise/{n}.pdf",
    "pagamento.pdf": "/demonstrativos/pagamento?tipo=medico&periodo=data&data=2026-11-30",
    "analitico.xlsx": "/relatorios/{n}/analitico.xlsx",
    "sintetico.xlsx": "/relatorios/{n}/sintetico.xlsx",
}
PDFS = [name for name in PATHS if name.endswith(".pdf")]
PROTOCOL_PDFS = ["capa.pdf", "analitico.pdf", "sintetico.pdf", "analise.pdf"]
WORKBOOKS = ["analitico.xlsx", "sintetico.xlsx"]


def signed_in(client) -> None:
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 302


def fetch(client, name: str, numero: str) -> bytes:
    response = client.get(AREA + PATHS[name].format(n=numero))
    assert response.status_code == 200, (name, response.status_code, ps.text(response)[:300])
    expected = "application/pdf" if name.endswith(".pdf") else XLSX_TYPE
    assert response.mimetype == expected, (name, response.mimetype)
    return response.data


def receipt(client, card: str) -> bytes:
    page = f"{AREA}/elegibilidade"
    response = ps.post(client, f"{page}/comprovante", {"carteira": card}, token_from=page)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def pages(content: bytes) -> list[str]:
    assert content.startswith(b"%PDF-"), content[:40]
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def squash(text: str) -> str:
    """Without any whitespace: a text wrapped over several lines of a cell reads the same."""
    return "".join(text.split())


def cells(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row]


def table(content: bytes) -> list[tuple]:
    """The rows of the workbook's listing: from its header row (the one starting "Guia") on."""
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] == "Guia")
    return rows[start:]


def metrics_font(base_font: str) -> str:
    """reportlab's name of the font a PDF font was made from, to measure with: a standard font
    by its own name, an embedded TrueType subset ('AAAAAA+NotoSans-Regular') by the registered
    font of that face (gateway.reports.fonts registers them when it first needs them)."""
    name = base_font.lstrip("/")
    prefix, plus, face = name.partition("+")
    if not plus:
        return name
    for registered in pdfmetrics.getRegisteredFontNames():
        font = pdfmetrics.getFont(registered)
        if isinstance(font, TTFont) and (font.face.name + font.face.subfontNameX).decode() == face:
            return registered
    raise KeyError(f"no registered font for {name}")


def text_runs(content: bytes) -> list[tuple[int, float, float, float, float, str]]:
    """Every piece of text drawn, as (page, x0, x1, baseline y, font size, text); x1 is where
    the text ends by the font's metrics (reportlab's own: the standard fonts, and the TrueType
    fonts the PDFs embed for other characters)."""
    runs = []
    for number, page in enumerate(PdfReader(io.BytesIO(content)).pages, start=1):
        previous = {"origin": None, "end": 0.0}

        def visit(text, cm, tm, font, size, number=number, previous=previous):
            if font is None:
                return
            scale = tm[0] * cm[0] + tm[1] * cm[2]
            name = metrics_font(str(font.get("/BaseFont", "/Helvetica")))
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            origin = (tuple(cm), tuple(tm))
            if origin == previous["origin"]:
                # A line in several fonts is one text object whose pieces pypdf hands over with
                # the matrix of the line's start, not advanced over the pieces before: this piece
                # starts where the previous one ended.
                x = previous["end"]
            drawn = text.replace("\n", "")
            previous["origin"] = origin
            previous["end"] = x + stringWidth(drawn, name, size * scale)
            shown = drawn.strip()
            if not shown:
                return
            x += stringWidth(drawn[: len(drawn) - len(drawn.lstrip())], name, size * scale)
            width = stringWidth(shown, name, size * scale)
            runs.append((number, x, x + width, y, size * scale, shown))

        page.extract_text(visitor_text=visit)
    return runs


def layout_problems(content: bytes) -> list[str]:
    """Text drawn beyond the page's edges, or over other text on the same line."""
    reader = PdfReader(io.BytesIO(content))
    widths = {n: float(p.mediabox.width) for n, p in enumerate(reader.pages, start=1)}
    runs = text_runs(content)
    problems = [
        f"page {page}: {text!r} runs off the page ({x0:.0f}..{x1:.0f} of {widths[page]:.0f})"
        for page, x0, x1, _, _, text in runs
        if x0 < 0 or x1 > widths[page]
    ]
    for i, (page, x0, x1, y, size, text) in enumerate(runs):
        for other in runs[i + 1 :]:
            o_page, o_x0, o_x1, o_y, _, o_text = other
            same_line = o_page == page and abs(o_y - y) < size / 2
            if same_line and min(x1, o_x1) - max(x0, o_x0) > 0.5:
                problems.append(f"page {page}: {text!r} is drawn over {o_text!r}")
    return problems


def row_of(content: bytes, first: str) -> str:
    """The texts of the table row whose first cell reads `first`: drawn on its first line, or
    on the next line of a cell that wraps (one leading below; the next row begins a leading and
    the cells' padding below)."""
    runs = text_runs(content)
    page, _, _, y, size, _ = next(r for r in runs if r[5] == first)
    return " ".join(r[5] for r in runs if r[0] == page and y - 1.5 * size < r[3] < y + size / 2)


def real(value: Decimal) -> str:
    """R$ 1.234,56, independently of gateway.reports.pdf.money."""
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {text}"


# --- texts in every character a lot can carry -------------------------------------------------

# Every printable character of ISO-8859-1 above ASCII (the soft hyphen, invisible by definition,
# and the no-break space, a space, left out), and the extra printable characters of
# Windows-1252, which the PDFs' Helvetica (WinAnsi) also carries.
LATIN1 = "".join(chr(c) for c in range(0xA1, 0x100) if c != 0xAD)
CP1252 = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”–—˜™š›œžŸ"
LATIN_TEXTS = {
    "lote": "Nº ÇÃO-ª1",
    "guia": "GUIA-Nº1ºªÇÃÕÉÜ½¿¡§",
    "carteira": "ÀÁÂÃÄÅÆÈÉÊËÌÍÎÏÐÑÒÓÔ",
    # words of 12 characters, so that a cell wraps between words
    "descricao": " ".join(
        (LATIN1 + CP1252)[i : i + 12] for i in range(0, len(LATIN1 + CP1252), 12)
    ),
}
# Outside ISO-8859-1 and Windows-1252: Cyrillic, CJK, symbols and an emoji (outside the BMP).
OTHER_TEXTS = {
    "lote": "Л-漢-1",
    "guia": "GUIA-漢字-№1-🙂",
    "carteira": "卡号-Ж-12345-✓",
    "descricao": "Консультация 漢字検査 ≥ ½ ✓ 🙂 Ω",
}
# What each document shows of the lot.
SHOWN = {
    "capa.pdf": ("lote", "guia", "carteira"),
    "analitico.pdf": ("lote", "guia", "carteira", "descricao"),
    "sintetico.pdf": ("lote", "guia", "carteira"),
    "analise.pdf": ("lote", "guia", "carteira", "descricao"),
    "analitico.xlsx": ("lote", "guia", "carteira", "descricao"),
    "sintetico.xlsx": ("lote", "guia", "carteira"),
}


def lot_with_texts(client, gw, analyst, texts: dict) -> str:
    guides = [
        SampleGuide(numero_guia=texts["guia"], carteira=texts["carteira"]),
        SampleGuide(numero_guia="G2", carteira="00012345678901"),
    ]
    numero = sadt_lot(client, texts["lote"], guides, description=texts["descricao"])
    analysed(gw, analyst, numero)
    return numero


def shows_texts(content: bytes, name: str, texts: dict) -> list[str]:
    """The texts of the lot the document does not show as they were sent."""
    if name.endswith(".xlsx"):
        values = cells(content)
        return [texts[k] for k in SHOWN[name] if texts[k] not in values]
    shown = squash("\n".join(pages(content)))
    return [texts[k] for k in SHOWN[name] if squash(texts[k]) not in shown]


@pytest.mark.parametrize("name", list(SHOWN))
def test_latin1_and_windows_1252_texts_are_shown_as_sent(client, gw, analyst, name):
    """Every accented letter, ordinal (º ª), symbol (§ ½ ¿) and Windows-1252 extra (€ “ ” –)
    of lot number, guide, card and description, and of the operator's and provider's names (with
    the characters reportlab reads as markup)."""
    set_operator(gw.db, REGISTRO_ANS, "Operadora Saúde Ñandú & Cia <Ltda> nº 1 – ½ €")
    rename_provider_a(gw, "Clínica São José & Filhos <Ltda> ºª")
    numero = lot_with_texts(client, gw, analyst, LATIN_TEXTS)
    signed_in(client)
    content = fetch(client, name, numero)
    assert shows_texts(content, name, LATIN_TEXTS) == []
    if name.endswith(".pdf"):
        shown = squash("\n".join(pages(content)))
        assert squash("Operadora Saúde Ñandú & Cia <Ltda> nº 1 – ½ €") in shown
        assert squash("Clínica São José & Filhos <Ltda> ºª") in shown
        assert layout_problems(content) == []


@pytest.mark.parametrize("name", list(SHOWN))
def test_texts_outside_latin1_are_shown_as_sent(client, gw, analyst, name):
    """Cyrillic, CJK, symbols and an emoji: drawn in the fonts gateway.reports.fonts embeds for
    what Helvetica lacks, never as Helvetica's black boxes, and extracted as sent (so they can be
    copied and searched), without running into the texts beside them."""
    set_operator(gw.db, REGISTRO_ANS, "Операдора 健康 Ω № ✓ 🙂")
    numero = lot_with_texts(client, gw, analyst, OTHER_TEXTS)
    signed_in(client)
    content = fetch(client, name, numero)
    assert shows_texts(content, name, OTHER_TEXTS) == []
    if name.endswith(".pdf"):
        whole = "".join(pages(content))
        assert "■" not in whole
        assert squash("Операдора 健康 Ω № ✓ 🙂") in squash(whole)
        assert layout_problems(content) == []


def test_a_font_file_that_changed_is_not_loaded(monkeypatch, caplog):
    """The fallback fonts come from small publishers' packages: a file whose SHA-256 is not the
    pinned one is never parsed (logged; its characters are left to the other fonts)."""
    changed = dataclasses.replace(fonts.FALLBACKS[2], sha256="0" * 64)
    monkeypatch.setattr(fonts, "FALLBACKS", (*fonts.FALLBACKS[:2], changed, *fonts.FALLBACKS[3:]))
    fonts._fallbacks.cache_clear()
    try:
        loaded = [name for name, _ in fonts._fallbacks()]
        assert loaded == ["TissNotoSans", "TissNotoSymbols", "TissNotoEmoji"]
        assert "SHA-256 is not the one pinned" in caplog.text and changed.file in caplog.text
    finally:
        monkeypatch.undo()
        fonts._fallbacks.cache_clear()
    assert [name for name, _ in fonts._fallbacks()][2] == "TissCJK"


def eligibility_people(gw, name: str, card: str) -> None:
    upsert_beneficiaries(
        gw.db,
        [BeneficiaryData(card, name, "Ouro", "ativo", date(2020, 1, 1), None, date(2030, 1, 1))],
    )


@pytest.mark.parametrize(
    "name,card",
    [
        pytest.param("Zoë D'Ávila & Conceição <Júnior> ºª", "ÇÃ-ºª 12345", id="latin1"),
        pytest.param(
            "María José Dos Santos Albuquerque Cavalcanti de Oliveira Bragança e Orléans " * 2,
            "12345678901234567890",
            id="long-name-and-20-digit-card",
        ),
        pytest.param("Hiroshi 佐藤 Tanaka 🙂", "漢字-🙂-123", id="outside-latin1"),
    ],
)
def test_eligibility_receipt_shows_the_beneficiary_and_card(client, gw, name, card):
    eligibility_people(gw, name.strip(), card)
    signed_in(client)
    content = receipt(client, card)
    shown = squash("\n".join(pages(content)))
    assert squash(name) in shown and squash(card) in shown and "ELEGÍVEL" in shown
    assert "■" not in shown
    assert layout_problems(content) == []


@pytest.mark.parametrize(
    "card",
    [
        pytest.param("Nº-ÇÃ-ª-12345", id="latin1"),
        pytest.param("卡-🙂-№-12", id="outside-latin1"),
    ],
)
def test_eligibility_receipt_of_an_unknown_card_shows_the_card_typed(client, gw, card):
    signed_in(client)
    content = receipt(client, card)
    shown = squash("\n".join(pages(content)))
    assert squash(card) in shown and "INELEGÍVEL" in shown and "■" not in shown
    assert layout_problems(content) == []


# --- texts at their maximum length -----------------------------------------------------------

LONG_TEXTS = {
    "lote": "WWWWWWWWWWWW",  # st_texto12, the widest capital letter
    "guia": "WMWMWMWMWMWMWMWMWMWM",  # st_texto20
    "carteira": "98765432109876543210",  # st_texto20
    # st_texto150 without a single space: nowhere to wrap but inside the word
    "descricao": ("HEMOGRAMA-COMPLETO-COM-CONTAGEM-DE-PLAQUETAS-E-RETICULOCITOS/" * 3)[:150],
}


LONG_PROVIDER = (
    "Sociedade Beneficente de Senhoras Hospital Sírio-Libanês – Unidade de Diagnóstico por "
    "Imagem, Medicina Nuclear, Radioterapia e Oncologia Clínica do Complexo Hospitalar "
    "Bela Vista, São Paulo/SP, Brasil"
)


@pytest.mark.parametrize("name", list(SHOWN))
def test_texts_at_their_maximum_length_are_shown_whole_inside_the_page(client, gw, analyst, name):
    """And the provider's name at the 200 characters its column holds."""
    assert len(LONG_TEXTS["descricao"]) == 150 and len(LONG_PROVIDER) == 200
    rename_provider_a(gw, LONG_PROVIDER)
    numero = lot_with_texts(client, gw, analyst, LONG_TEXTS)
    signed_in(client)
    content = fetch(client, name, numero)
    assert shows_texts(content, name, LONG_TEXTS) == []
    if name.endswith(".pdf"):
        assert squash(LONG_PROVIDER) in squash("\n".join(pages(content)))
        assert layout_problems(content) == []


# A real operator's name as registered at the ANS (76 characters), and a name of the 200
# characters the column holds, in several scripts (wider than Latin letters) and with a " · ".
LONG_OPERATOR = "UNIMED DO ESTADO DE SÃO PAULO - FEDERAÇÃO ESTADUAL DAS COOPERATIVAS MÉDICAS"
WIDEST_OPERATOR = ("Операдора · 健康保険組合 WMW " * 10)[:200].strip()
OPERATORS = [
    pytest.param(LONG_OPERATOR, id="76-characters"),
    pytest.param(WIDEST_OPERATOR, id="200-characters-several-scripts"),
]


def footers(content: bytes) -> list[str]:
    """The footer line of each page: the texts drawn in the bottom margin (16 mm)."""
    runs = text_runs(content)
    count = len(PdfReader(io.BytesIO(content)).pages)
    return [
        " ".join(r[5] for r in runs if r[0] == number and r[3] < 16 * mm)
        for number in range(1, count + 1)
    ]


def footer_problems(content: bytes, operator: str) -> list[str]:
    """Every page's footer starts with the operator's name (whole or shortened with "…") and
    keeps its registro ANS, the date of issue and the page number."""
    problems = []
    for number, footer in enumerate(footers(content), start=1):
        shown = squash(footer)
        name = shown.split("…")[0] if "…" in shown else shown
        if not squash(operator).startswith(name[: len(squash(operator))]) or len(name) < 8:
            problems.append(f"page {number}: {footer!r} does not start with the operator")
        for part in (f"Registro ANS {REGISTRO_ANS}", "emitido em", f"Página {number}"):
            if squash(part) not in shown:
                problems.append(f"page {number}: {footer!r} lacks {part!r}")
    return problems


@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("name", PDFS)
def test_a_long_operator_name_keeps_every_pdf_inside_the_page(client, gw, analyst, name, operator):
    """The heading has the whole name; the footer shortens it to fit beside the page number."""
    assert len(WIDEST_OPERATOR) == 200
    set_operator(gw.db, REGISTRO_ANS, operator)
    numero = sadt_lot(client, "OP1", [SampleGuide("G1"), SampleGuide("G2")])
    analysed(gw, analyst, numero)
    paid(gw, analyst, [numero])
    signed_in(client)
    content = fetch(client, name, numero)
    text = "\n".join(pages(content))
    assert squash(operator) in squash(text)
    assert "Página 1" in text
    assert footer_problems(content, operator) == []
    assert layout_problems(content) == []


@pytest.mark.parametrize("operator", OPERATORS)
def test_a_long_operator_name_keeps_the_eligibility_receipt_inside_the_page(client, gw, operator):
    set_operator(gw.db, REGISTRO_ANS, operator)
    signed_in(client)
    content = receipt(client, "0000")
    assert squash(operator) in squash("\n".join(pages(content)))
    assert footer_problems(content, operator) == []
    assert layout_problems(content) == []


# --- a protocol of 100 guides ----------------------------------------------------------------

GUIDES = 100
BIG = "G000050"  # the guide with many items
_ITEMS = [D("0.01")] + [D(f"{n}.{n % 100:02d}") for n in range(1, 59)]
# 60 items with cents that add up to whole reais (see hundred_guides)
BIG_ITEMS = [*_ITEMS, D("99999") + (1 - sum(_ITEMS) % 1) % 1]


def hundred_guides() -> tuple[list[SampleGuide], dict[str, Decimal]]:
    """100 guides of different values (SP/SADT: two items each; one of them 60 items), near the
    largest a guide may state; {guide number: informed value}. The guides' values are whole
    reais: the receipt's valorTotalProtocolo (st_decimal10-2) holds 10 significant digits, so a
    lot total of 10 integer digits is accepted only without cents."""
    guides = [
        SampleGuide(f"G{i:06d}", carteira=f"{i:020d}", valor=D("99999999") - D(i))
        for i in range(1, GUIDES + 1)
    ]
    values = {g.numero_guia: g.valor for g in guides}
    values[BIG] = sum(BIG_ITEMS, D("0"))
    return guides, values


@pytest.fixture
def hundred(client, gw, analyst):
    """The protocol of 100 guides, analysed: glosa of one cent on the first item of G000001,
    the whole of G000100 glosada on the guide; then paid with a debit and a credit. Returns
    (protocol, informed, glosado, liberado, by guide)."""
    guides, informed = hundred_guides()
    numero = with_items(client, "L100", guides, {BIG: BIG_ITEMS})
    last = informed["G000100"]
    analysed(
        gw,
        analyst,
        numero,
        [
            GuideAnalysis(
                "G000001", items=[ItemAnalysis(1, glosas=[GlosaInput("1801", D("0.01"))])]
            ),
            GuideAnalysis("G000100", glosas=[GlosaInput("1705", last, "glosa total")]),
        ],
    )
    glosado = {n: D("0.00") for n in informed}
    glosado["G000001"], glosado["G000100"] = D("0.01"), last
    paid(
        gw,
        analyst,
        [numero],
        [
            Adjustment("1", "02", "ISS retido sobre serviços – nº 123/2026", D("12345678.91")),
            Adjustment("2", "08", "Crédito €½ ºª – ajuste “anterior”", D("0.01")),
        ],
    )
    return numero, informed, glosado


def test_a_protocol_of_100_guides_is_accepted_with_its_total(hundred):
    numero, informed, _ = hundred
    assert len(informed) == GUIDES
    assert D("9900000000") < sum(informed.values()) <= D("9999999999")


@pytest.mark.parametrize("name", ["capa.pdf", "sintetico.pdf"])
def test_every_page_of_a_100_guide_listing_has_its_header_page_number_and_the_right_total(
    client, hundred, name
):
    numero, informed, glosado = hundred
    signed_in(client)
    content = fetch(client, name, numero)
    texts = pages(content)
    assert len(texts) > 1
    header = "Nº guia prestador" if name == "capa.pdf" else "Nº guia"
    for number, text in enumerate(texts, start=1):
        assert f"Página {number}" in text, number
        # A page that continues the guide table repeats its header row.
        if re.search(r"G0000\d\d", text):
            assert header in text, number
    whole = "\n".join(texts)
    for guide in informed:
        assert len(re.findall(rf"\b{guide}\b", whole)) == 1, guide
    total_informed = sum(informed.values())
    total_glosado = sum(glosado.values())
    for value in (total_informed, total_glosado, total_informed - total_glosado):
        # Whole on one line: an amount wrapped inside its digits would be misread.
        assert real(value).split(" ")[1] in whole, real(value)
    assert layout_problems(content) == []


def test_the_analytic_pdf_of_100_guides_lists_every_item_under_its_guide(client, hundred):
    numero, informed, glosado = hundred
    signed_in(client)
    content = fetch(client, "analitico.pdf", numero)
    texts = pages(content)
    whole = "\n".join(texts)
    for number, text in enumerate(texts, start=1):
        assert f"Página {number}" in text
    for guide in informed:
        assert f"Guia {guide} · carteira {int(guide[1:]):020d}" in whole, guide
    # The guide of 60 items spans pages: its table's header is repeated on each.
    big_pages = [t for t in texts if "ITEM 30" in t or "ITEM 60" in t or "ITEM 1\n" in t]
    assert all("Descrição" in t and "Glosas" in t for t in big_pages)
    for seq, value in enumerate(BIG_ITEMS, start=1):
        assert f"ITEM {seq}" in whole and real(value).split(" ")[1] in whole, seq
    assert real(informed[BIG]).split(" ")[1] in whole
    assert "1801" in whole and "1705" in whole
    assert layout_problems(content) == []


def test_the_analysis_statement_of_100_guides_has_the_right_totals(client, hundred):
    numero, informed, glosado = hundred
    signed_in(client)
    content = fetch(client, "analise.pdf", numero)
    texts = pages(content)
    whole = "\n".join(texts)
    assert len(texts) > 1
    for number, text in enumerate(texts, start=1):
        assert f"Página {number}" in text
    total = sum(informed.values())
    liberado = total - sum(glosado.values())
    for value in (total, sum(glosado.values()), liberado):
        assert real(value).split(" ")[1] in whole, real(value)
    assert f"AC{numero}" in whole
    assert layout_problems(content) == []


def test_the_payment_statement_of_100_guides_has_the_right_net_value(client, hundred):
    numero, informed, glosado = hundred
    signed_in(client)
    content = fetch(client, "pagamento.pdf", numero)
    whole = "\n".join(pages(content))
    bruto = sum(informed.values()) - sum(glosado.values())
    liquido = bruto - D("12345678.91") + D("0.01")
    for value in (sum(informed.values()), bruto, D("12345678.91"), D("0.01"), liquido):
        assert real(value).split(" ")[1] in whole, real(value)
    assert "Valor líquido a receber" in whole
    assert squash("ISS retido sobre serviços – nº 123/2026") in squash(whole)
    assert squash("Crédito €½ ºª – ajuste “anterior”") in squash(whole)
    assert numero in whole and "341 / 1234 / 99887-6" in whole
    assert layout_problems(content) == []


def test_the_synthetic_workbook_of_100_guides_sums_to_its_total_row(client, hundred):
    numero, informed, glosado = hundred
    signed_in(client)
    rows = table(fetch(client, "sintetico.xlsx", numero))
    header, guides, total = rows[0], rows[1:-1], rows[-1]
    assert header == (
        "Guia",
        "Carteira",
        "Atendimento",
        "Informado",
        "Processado",
        "Glosado",
        "Liberado",
    )
    assert [r[0] for r in guides] == list(informed)
    assert total[0] == "Total"
    for column in range(3, 7):
        values = [r[column] for r in guides]
        assert all(isinstance(v, int | float) for v in values), header[column]
        assert sum(values) == pytest.approx(float(total[column]), abs=0.005), header[column]
    assert [D(str(r[3])).quantize(D("0.01")) for r in guides] == list(informed.values())
    assert D(str(total[3])).quantize(D("0.01")) == sum(informed.values())
    assert D(str(total[5])).quantize(D("0.01")) == sum(glosado.values())


def columns(header: tuple) -> dict[str, int]:
    return {title: index for index, title in enumerate(header)}


def header_values(content: bytes) -> dict[str, object]:
    """The labelled values above the workbook's listing (column A the label, B the value)."""
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    end = next(i for i, row in enumerate(rows) if row and row[0] == "Guia")
    return {row[0]: row[1] for row in rows[1:end] if row and row[0]}


def test_the_analytic_workbook_of_100_guides_has_every_item_as_numbers(client, hundred):
    numero, informed, glosado = hundred
    signed_in(client)
    rows = table(fetch(client, "analitico.xlsx", numero))
    c = columns(rows[0])
    items = [r for r in rows[1:] if r[c["Item"]] is not None]
    assert len(items) == 2 * (GUIDES - 1) + len(BIG_ITEMS)
    for title in ("Quantidade", "Informado", "Processado", "Glosado", "Liberado"):
        assert all(isinstance(r[c[title]], int | float) for r in items), title
    informed_sum = sum(D(str(r[c["Informado"]])) for r in items)
    assert informed_sum.quantize(D("0.01")) == sum(informed.values())
    liberado_by_item = sum(D(str(r[c["Liberado"]])) for r in items)
    # Item values: only the first item of G000001 has a glosa (one cent); G000100's glosa is on
    # the guide, listed on a row of its own.
    assert liberado_by_item.quantize(D("0.01")) == sum(informed.values()) - D("0.01")
    guide_rows = [r for r in rows[1:] if r[c["Descrição"]] == "Glosa da guia"]
    assert len(guide_rows) == 1 and guide_rows[0][0] == "G000100"
    assert real(informed["G000100"]) in guide_rows[0][c["Glosas"]]  # R$ 1.234,56, as the PDF
    assert all(isinstance(r[c["Data"]], datetime) for r in items)  # date cells, DD/MM/AAAA
    assert D(str(guide_rows[0][c["Glosado"]])) == informed["G000100"]


def test_the_analytic_workbook_liberado_column_adds_up_to_what_was_released(client, hundred):
    """A glosa on a guide (here the whole of G000100) is on the listing as a number: the clerk
    who sums the Liberado column gets what the operator released, the Glosado column what it
    withheld, and both match the totals above the listing."""
    numero, informed, glosado = hundred
    signed_in(client)
    content = fetch(client, "analitico.xlsx", numero)
    rows = table(content)
    released = sum(informed.values()) - sum(glosado.values())
    expected = {
        "Informado": sum(informed.values()),
        "Processado": sum(informed.values()),
        "Glosado": sum(glosado.values()),
        "Liberado": released,
    }
    totals = header_values(content)
    for title, value in expected.items():
        column = [r[columns(rows[0])[title]] for r in rows[1:]]
        numbers = [v for v in column if isinstance(v, int | float)]
        assert len(numbers) == len([v for v in column if v is not None]), title
        assert sum(numbers) == pytest.approx(float(value), abs=0.005), title
        assert D(str(totals[f"Valor {title.lower()}"])).quantize(D("0.01")) == value, title


def test_the_analytic_workbook_adds_up_when_a_guide_differs_from_its_items(client, gw, analyst):
    """The operator may give a guide values of its own (a valor liberado typed for the guide,
    not from its items): the listing has a row with the difference, so its columns still add up
    to the guides' values, as in the synthetic workbook."""
    guides = [SampleGuide("G1"), SampleGuide("G2"), SampleGuide("G3")]
    numero = sadt_lot(client, "DIF", guides)
    analysed(
        gw,
        analyst,
        numero,
        [
            GuideAnalysis("G1", valor_liberado=D("125.00")),
            GuideAnalysis("G2", glosas=[GlosaInput("1705", D("10.00"))]),
            GuideAnalysis("G3", items=[ItemAnalysis(1, glosas=[GlosaInput("1801", D("0.50"))])]),
        ],
    )
    signed_in(client)
    analytic = table(fetch(client, "analitico.xlsx", numero))
    synthetic = table(fetch(client, "sintetico.xlsx", numero))
    by_guide = {r[0]: r for r in synthetic[1:-1]}
    c, s = columns(analytic[0]), columns(synthetic[0])
    assert D(str(by_guide["G1"][s["Liberado"]])) == D("125.00")
    for guide in ("G1", "G2", "G3"):
        for title in ("Informado", "Processado", "Glosado", "Liberado"):
            values = [r[c[title]] for r in analytic[1:] if r[0] == guide]
            total = sum((D(str(v)) for v in values if v is not None), D("0"))
            assert total == D(str(by_guide[guide][s[title]])), (guide, title)
    differences = [r for r in analytic[1:] if r[c["Descrição"]] == "Valores da guia fora dos itens"]
    assert [r[0] for r in differences] == ["G1"]
    assert D(str(differences[0][c["Glosado"]])) == D("25.00")


# --- values of zero, one cent and the largest ------------------------------------------------

SMALL_AND_LARGE = {"Z0": D("0.00"), "C1": D("0.01"), "MAX": D("99999999.99")}


@pytest.fixture
def extremes(client, gw, analyst):
    guides = [SampleGuide(n, valor=v) for n, v in SMALL_AND_LARGE.items()]
    numero = sadt_lot(client, "EXT", guides)
    # One cent glosado on the one-cent guide, which leaves it nothing; MAX released whole.
    analysed(gw, analyst, numero, [GuideAnalysis("C1", glosas=[GlosaInput("1705", D("0.01"))])])
    paid(gw, analyst, [numero])
    return numero


@pytest.mark.parametrize("name", PDFS)
def test_zero_one_cent_and_the_largest_value_are_printed_exactly(client, extremes, name):
    signed_in(client)
    content = fetch(client, name, extremes)
    whole = "\n".join(pages(content))
    total = sum(SMALL_AND_LARGE.values())  # 100.000.000,00
    assert real(total).split(" ")[1] in whole
    assert real(total - D("0.01")).split(" ")[1] in whole  # liberado
    if name in ("capa.pdf", "sintetico.pdf"):
        for guide, value in SMALL_AND_LARGE.items():
            row = row_of(content, guide)
            assert real(value).split(" ")[1] in row, row
    assert "nan" not in whole.lower() and "-0,00" not in whole
    assert layout_problems(content) == []


@pytest.mark.parametrize("name", WORKBOOKS)
def test_zero_one_cent_and_the_largest_value_are_numbers_in_the_workbooks(client, extremes, name):
    signed_in(client)
    rows = table(fetch(client, name, extremes))
    column = columns(rows[0])["Informado"]
    by_guide: dict[str, Decimal] = {}
    for row in rows[1:]:
        if row[0] in SMALL_AND_LARGE and row[column] is not None:
            assert isinstance(row[column], int | float), row
            by_guide[row[0]] = by_guide.get(row[0], D("0")) + D(str(row[column]))
    assert {k: v.quantize(D("0.01")) for k, v in by_guide.items()} == SMALL_AND_LARGE


# --- download names --------------------------------------------------------------------------

SAFE_NAME = re.compile(r'attachment; filename="[A-Za-z0-9._-]+"')


def test_download_names_are_built_from_the_stored_numbers_only(client, gw, analyst):
    numero = sadt_lot(client, 'L"1;\\x', [SampleGuide("G1"), SampleGuide("G2")])
    analysed(gw, analyst, numero)
    paid(gw, analyst, [numero])
    signed_in(client)
    expected = {
        "capa.pdf": f"capa-de-lote-{numero}.pdf",
        "analitico.pdf": f"protocolo-{numero}-analitico.pdf",
        "sintetico.xlsx": f"protocolo-{numero}-sintetico.xlsx",
        "analise.pdf": f"demonstrativo-analise-{numero}.pdf",
    }
    for name, file_name in expected.items():
        # The number as someone may type it into the address: with blanks around it.
        response = client.get(AREA + PATHS[name].format(n=f"%20{numero}%20"))
        assert response.status_code == 200, name
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="{file_name}"', disposition
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    payment = client.get(AREA + PATHS["pagamento.pdf"])
    assert SAFE_NAME.fullmatch(payment.headers["Content-Disposition"])
    assert "demonstrativo-pagamento-PG" in payment.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "typed", ['1"%0D%0ASet-Cookie:x=1', "%E2%80%AE123", "1" * 13, "..%2F..%2Fetc"]
)
def test_an_odd_protocol_number_in_the_address_is_not_found(client, gw, typed):
    signed_in(client)
    for name in ("capa.pdf", "analitico.pdf", "analitico.xlsx", "analise.pdf"):
        response = client.get(AREA + PATHS[name].format(n=typed))
        assert response.status_code == 404, (name, response.status_code)
        assert "Set-Cookie" not in response.headers or "x=1" not in response.headers["Set-Cookie"]
