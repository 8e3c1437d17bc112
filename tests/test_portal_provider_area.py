"""The provider web area in a real headless Chromium against a running server: a credentialed
provider (created by conftest, no credentialing again) uploads a valid lot file and gets a
protocol, uploads another provider's file and reads the refusal, finds the file and its answer in
Consultar Arquivos, reads the protocol's status, downloads the capa de lote and the statements
(their text read back with pypdf), checks a valid and an invalid card, and types a Guia de
Consulta that becomes a protocol. Screenshots of every page go to tests/artifacts/screenshots/."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests import browser_support as bs
from tests import provider_area_support as pa
from tests import test_portal_browser as base
from tests.conftest import PROVIDER_A, PROVIDER_B
from tests.test_soap_queries import analyse, pay

# The Chromium, live-server, page and screenshot fixtures of the credentialing browser test.
browser, server, page, shot = base.browser, base.server, base.page, base.shot
settings_overrides = base.settings_overrides
expect, field, login = base.expect, base.field, base.login

pytestmark = pytest.mark.skipif(not bs.chromium_available(), reason="Debian's chromium missing")


def follow(page, link) -> None:
    """Click a link and wait for the page it leads to to be loaded, styles and all: the page left
    behind has headings too, and a layout measured half-way through the navigation is neither."""
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(f"**{href}")
    page.wait_for_load_state("load")


def menu(page, label: str) -> None:
    follow(
        page,
        page.get_by_role("navigation", name="Menu do prestador").get_by_role(
            "link", name=label, exact=True
        ),
    )
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def send_file(page, data: bytes, name: str) -> None:
    menu(page, "Envio de Arquivo XML")
    field(page, "Arquivo").set_input_files({"name": name, "mimeType": "text/xml", "buffer": data})
    page.get_by_role("button", name="Enviar", exact=True).click()


def downloaded(page, action) -> bytes:
    with page.expect_download() as info:
        action()
    return Path(info.value.path()).read_bytes()


def test_upload_files_status_and_documents(page, gw, shot):
    login(page, PROVIDER_A.cnpj, PROVIDER_A.password)
    expect(page.get_by_role("heading", name="Início")).to_be_visible()
    shot(page, "30-area-inicio")

    # A valid file as a hospital system exports it (ISO-8859-1): a protocol.
    send_file(page, pa.lot_file(PROVIDER_A, "WEB1", 2), "lote-web1.xml")
    expect(page.get_by_text("Arquivo recebido.")).to_be_visible()
    numero = page.get_by_test_id("protocolo").inner_text()
    assert re.fullmatch(r"\d{12}", numero)
    shot(page, "31-area-envio-xml-aceito")

    # Another provider's file: refused with the words of the manual.
    send_file(page, pa.lot_file(PROVIDER_B, "WEB2", 1), "lote-outro-prestador.xml")
    expect(page.get_by_role("alert")).to_contain_text(
        "O Recebedor do arquivo diverge do login utilizado"
    )
    shot(page, "32-area-envio-xml-recusado")

    # Both in Consultar Arquivos, newest first; the accepted one with its answer.
    menu(page, "Consultar Arquivos")
    rows = page.locator("tbody tr")
    expect(rows.nth(0)).to_contain_text("Recusado")
    expect(rows.nth(1)).to_contain_text(numero)
    shot(page, "33-area-consultar-arquivos")
    rows.nth(1).get_by_role("link", name=re.compile("Detalhes")).click()
    expect(page.get_by_role("heading", name="Retorno")).to_be_visible()
    expect(page.locator("#retorno").get_by_test_id("protocolo")).to_have_text(numero)
    expect(page.locator("#geral")).to_contain_text("WEB1")
    answer = downloaded(page, lambda: page.get_by_role("link", name=re.compile("retorno-")).click())
    assert numero.encode() in answer and b"protocoloRecebimento" in answer
    shot(page, "34-area-arquivo-detalhes")

    # Status do Protocolo: received; after the operator's analysis, with the glosa.
    page.get_by_role("link", name="Consultar situação protocolo").click()
    expect(page.get_by_test_id("situacao")).to_have_text("1 - Recebido")
    analyse(gw, numero, guide_glosa=("1705", Decimal("30.00")))
    page.reload()
    expect(page.get_by_test_id("situacao")).to_contain_text("5 - Analisado")
    shot(page, "35-area-status-protocolo")
    field(page, "Número do protocolo").fill("999999999999")
    page.get_by_role("button", name="Consultar").click()
    expect(page.get_by_text("Protocolo inexistente").first).to_be_visible()
    shot(page, "36-area-status-inexistente")

    # Capa de Lote: a PDF with the lot's totals (2 x 150.00; glosas 20.00 + 30.00).
    menu(page, "Capa de Lote")
    field(page, "Número do protocolo").fill(numero)
    page.get_by_role("button", name="Emitir relatório").click()
    shot(page, "37-area-capa-de-lote")
    capa = pa.pdf_text(
        downloaded(page, lambda: page.get_by_role("link", name="Baixar Capa de Lote (PDF)").click())
    )
    for expected in (
        numero,
        "WEB1",
        PROVIDER_A.name,
        "Guia de SP/SADT",
        "R$ 300,00",
        "R$ 50,00",
        "R$ 250,00",
    ):
        assert expected in capa, expected

    # Demonstrativos: payment (net 240.00 after the 10.00 ISS) and account analysis.
    pay(gw, numero, PROVIDER_A.code)
    menu(page, "Demonstrativos")
    page.get_by_role("radio", name="Competência").check()
    field(page, "Mês e ano da competência").fill("2026-11")
    shot(page, "38-area-demonstrativos")
    payment = pa.pdf_text(
        downloaded(page, lambda: page.get_by_role("button", name="Emitir relatório").click())
    )
    for expected in (
        "Demonstrativo de Pagamento",
        numero,
        "R$ 300,00",
        "R$ 250,00",
        "R$ 10,00",
        "R$ 240,00",
    ):
        assert expected in payment, expected
    analysis = pa.pdf_text(
        downloaded(page, lambda: page.get_by_role("link", name=re.compile("Visualizar")).click())
    )
    assert "Demonstrativo de Análise de Conta" in analysis and "1705" in analysis
    assert "R$ 250,00" in analysis


def test_eligibility_and_my_data(page, gw, shot):
    pa.beneficiaries(gw)
    login(page, PROVIDER_A.cnpj, PROVIDER_A.password)
    menu(page, "Meus Dados")
    expect(page.get_by_text(PROVIDER_A.code, exact=True)).to_be_visible()
    shot(page, "46-area-meus-dados")
    menu(page, "Elegibilidade")
    field(page, "Carteirinha").fill(pa.ACTIVE_CARD)
    page.get_by_role("button", name="Validar").click()
    expect(page.get_by_test_id("elegibilidade")).to_contain_text("Elegível")
    expect(page.get_by_text("Maria Ativa")).to_be_visible()
    shot(page, "39-area-elegivel")
    receipt = pa.pdf_text(
        downloaded(page, lambda: page.get_by_role("button", name="Imprimir").click())
    )
    assert "ELEGÍVEL" in receipt and "Maria Ativa" in receipt
    field(page, "Carteirinha").fill(pa.CANCELLED_CARD)
    page.get_by_role("button", name="Validar").click()
    expect(page.get_by_test_id("elegibilidade")).to_contain_text("Inelegível")
    expect(page.get_by_text(re.compile("^1006 – "))).to_be_visible()
    shot(page, "40-area-inelegivel")


def fill_guide(page, numero: str, valor: str) -> None:
    field(page, "2 – Nº Guia no Prestador").fill(numero)
    field(page, "4 – Número da Carteira").fill(pa.ACTIVE_CARD)
    field(page, "12 – Nome do Profissional Executante").fill("Dra. Conceição Araújo")
    field(page, "13 – Conselho Profissional").select_option("06")
    field(page, "14 – Número no Conselho").fill("123456")
    field(page, "15 – UF").select_option("53")
    field(page, "16 – Código CBO").select_option("225125")
    field(page, "18 – Data do Atendimento").fill("2026-11-10")
    field(page, "19 – Tipo de Consulta").select_option("1")
    field(page, "21 – Código do Procedimento").fill("10101012")
    field(page, "22 – Valor do Procedimento").fill(valor)


def test_typed_guia_de_consulta_becomes_a_protocol(page, gw, shot):
    pa.beneficiaries(gw)
    login(page, PROVIDER_A.cnpj, PROVIDER_A.password)
    menu(page, "Digitação de Guias")
    shot(page, "41-area-digitacao")
    page.get_by_role("button", name="Salvar").click()
    expect(page.get_by_text("Protocolo salvo.")).to_be_visible()
    page.get_by_role("link", name="Inserir uma nova guia").click()
    fill_guide(page, "C0001", "abc")
    field(page, "18 – Data do Atendimento").fill("2030-01-01")
    page.get_by_role("button", name="Salvar", exact=True).click()
    expect(page.get_by_text("a data do atendimento não pode ser futura")).to_be_visible()
    expect(page.get_by_text("informe o valor em reais")).to_be_visible()
    shot(page, "43-area-guia-erros")
    fill_guide(page, "C0001", "150,00")
    shot(page, "42-area-guia-consulta")
    page.get_by_role("button", name="Salvar e incluir nova guia").click()
    expect(page.get_by_text("Beneficiário: Maria Ativa")).to_be_visible()
    fill_guide(page, "C0002", "80,50")
    page.get_by_role("button", name="Salvar", exact=True).click()
    expect(page.get_by_text("R$ 230,50")).to_be_visible()
    page.get_by_role("button", name="Finalizar Digitação").click()
    expect(page.get_by_text("Digitação finalizada.").first).to_be_visible()
    shot(page, "44-area-protocolo-digitado")
    page.get_by_role("button", name="Enviar para a operadora").click()
    expect(page.get_by_text("Lote recebido pela operadora.")).to_be_visible()
    numero = page.get_by_test_id("protocolo").inner_text()
    shot(page, "45-area-digitacao-enviada")
    page.locator(".area-main").get_by_role("link", name="Status do protocolo").click()
    expect(page.get_by_test_id("protocolo")).to_have_text(numero)
    expect(page.get_by_text("Guia de Consulta", exact=True)).to_be_visible()
    expect(page.get_by_text("C0002")).to_be_visible()


def test_area_on_a_phone(browser, server, gw, shot):
    context = browser.new_context(
        base_url=server, locale="pt-BR", is_mobile=True, viewport={"width": 390, "height": 844}
    )
    try:
        phone = context.new_page()
        login(phone, PROVIDER_A.cnpj, PROVIDER_A.password)
        expect(phone.get_by_role("heading", name="Início")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, "47-area-celular-inicio")
        menu(phone, "Consultar Arquivos")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        menu(phone, "Digitação de Guias")
        phone.get_by_role("button", name="Salvar").click()
        follow(phone, phone.get_by_role("link", name="Inserir uma nova guia"))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, "48-area-celular-guia")
    finally:
        context.close()
