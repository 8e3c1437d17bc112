"""Helpers for the provider-area tests: lot files as hospital systems export them, uploads through
the portal, a protocol analysed and paid the way the back office records it, beneficiaries,
and reading PDFs and spreadsheets back."""

import html
import io
import re
from datetime import date
from functools import cache

from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader

from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss.samples import mensagem_tiss
from tests import portal_support as ps
from tests.conftest import PROVIDER_A, REGISTRO_ANS, SHARED_TISS
from tests.tissclient import sample_lot

AREA = "/portal/prestador"
ACTIVE_CARD = "1111"
CANCELLED_CARD = "2222"

# A Guia de Consulta as a provider types it in the portal (the form's fields and values).
CONSULTA_FORM = {
    "numero_guia_prestador": "C0001",
    "numero_carteira": ACTIVE_CARD,
    "codigo_prestador": PROVIDER_A.code,
    "cnes": "2077485",
    "nome_profissional": "Dra. Conceição Araújo",
    "conselho": "06",
    "numero_conselho": "123456",
    "uf_conselho": "53",
    "cbos": "225125",
    "indicacao_acidente": "9",
    "data_atendimento": "2026-11-10",
    "tipo_consulta": "1",
    "regime_atendimento": "01",
    "codigo_tabela": "22",
    "codigo_procedimento": "10101012",
    "valor_procedimento": "1.234,56",
    "observacao": "Retorno em 30 dias.",
}


def lot_file(provider, numero: str, count: int = 2, guide_type: str = "guiaSP-SADT") -> bytes:
    """A mensagemTISS file of `count` guides of 150.00 (SP/SADT: two items of 75.00 each)."""
    lot = sample_lot(
        provider, numero, count, registro_ans=REGISTRO_ANS, login=None, guide_type=guide_type
    )
    return etree.tostring(mensagem_tiss(lot), encoding="ISO-8859-1", xml_declaration=True)


def open_protocol(client) -> str:
    """A new protocol of typed Guias de Consulta (Digitação de Guias): the address of its page."""
    response = ps.post(
        client,
        f"{AREA}/digitacao/novo",
        {"guide_type": "guiaConsulta"},
        token_from=f"{AREA}/digitacao",
    )
    assert response.status_code == 302
    return response.headers["Location"]


def upload(client, data: bytes, name: str = "lote.xml"):
    return ps.post(
        client,
        f"{AREA}/envio-xml",
        {"arquivo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def beneficiaries(gw) -> None:
    upsert_beneficiaries(
        gw.db,
        [
            BeneficiaryData(
                ACTIVE_CARD,
                "Maria Ativa",
                "Ouro",
                "ativo",
                date(2020, 1, 1),
                None,
                date(2030, 1, 1),
            ),
            BeneficiaryData(
                CANCELLED_CARD,
                "João Desligado",
                "Prata",
                "cancelado",
                date(2019, 1, 1),
                date(2025, 1, 31),
                date(2025, 1, 31),
            ),
        ],
    )


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-"), content[:40]
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def sheet_values(content: bytes) -> list[tuple]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def sheet_formulas(content: bytes) -> list[str]:
    """The cells of a workbook that a spreadsheet would compute: the gateway writes none."""
    book = load_workbook(io.BytesIO(content))
    return [
        cell.coordinate
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


# --- what a page of the provider area shows ---


@cache
def official_message_schema(version: str) -> etree.XMLSchema:
    """The official schema of a mensagemTISS file of `version` (the portal's files are whole
    messages, not SOAP bodies)."""
    path = SHARED_TISS / "schemas" / version / f"tissV{version.replace('.', '_')}.xsd"
    parser = etree.XMLParser(no_network=True, load_dtd=True, resolve_entities=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def field_errors(response) -> dict[str, str]:
    """The message shown next to each field of the page, by field name."""
    found = re.findall(r'<p class="error" id="e-([\w]+)">([^<]*)</p>', ps.text(response))
    return {name: html.unescape(message) for name, message in found}


def alerts(page: str) -> list[str]:
    """The flashed messages and alerts of a page, as text."""
    found = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", a)).strip() for a in found]


def occurrences(response) -> list[str]:
    """The occurrences listed for a file that was not accepted."""
    found = re.findall(r'<ol class="occurrences">(.*?)</ol>', ps.text(response), re.S)
    return [html.unescape(li) for block in found for li in re.findall(r"<li>(.*?)</li>", block)]


def protocol_number(response) -> str | None:
    """The protocol number a page shows (data-testid="protocolo")."""
    found = re.search(r'data-testid="protocolo">(\d+)<', ps.text(response))
    return found.group(1) if found else None
