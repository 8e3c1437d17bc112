"""Helpers for the provider-area tests: lot files as hospital systems export them, uploads through
the portal, a protocol analysed and paid the way the back office records it, beneficiaries,
and reading PDFs and spreadsheets back."""

import io
from datetime import date

from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader

from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss.samples import mensagem_tiss
from tests import portal_support as ps
from tests.conftest import REGISTRO_ANS
from tests.tissclient import sample_lot

AREA = "/portal/prestador"
ACTIVE_CARD = "1111"
CANCELLED_CARD = "2222"


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
