"""The provider web area through Flask's test client: every page renders for a credentialed
provider, the upload goes through the tissLoteGuias checks, the pages show what the SOAP services
answer, and documents carry the right totals."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from gateway.forms import typed_day
from gateway.portal.provider.statements import competencia
from gateway.services.credentialing import queue
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.test_soap_queries import analyse, pay
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

AREA = pa.AREA


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def provider_a(client, gw):
    response = ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    assert response.status_code == 302
    return client


def uploaded(client, numero: str, count: int = 2, provider=PROVIDER_A) -> str:
    response = pa.upload(client, pa.lot_file(provider, numero, count))
    assert response.status_code == 200, ps.text(response)
    return protocol_in(ps.text(response))


def protocol_in(page: str) -> str:
    return re.search(r'data-testid="protocolo">(\d{12})<', page).group(1)


def test_login_lands_on_the_area_with_the_left_menu(provider_a):
    landing = provider_a.get("/portal/")
    assert landing.headers["Location"].endswith(f"{AREA}/")
    home = ps.text(provider_a.get(f"{AREA}/"))
    for item in (
        "Início",
        "Meus Dados",
        "Envio de Arquivo XML",
        "Consultar Arquivos",
        "Status do Protocolo",
        "Capa de Lote",
        "Demonstrativos",
        "Elegibilidade",
        "Digitação de Guias",
    ):
        assert f">{item}</a>" in home
    assert 'aria-label="Menu do prestador"' in home


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/meus-dados",
        "/envio-xml",
        "/arquivos",
        "/status",
        "/capa-de-lote",
        "/demonstrativos",
        "/elegibilidade",
        "/digitacao",
    ],
)
def test_every_page_renders(provider_a, path):
    response = provider_a.get(AREA + path)
    assert response.status_code == 200, ps.text(response)[:500]
    assert "Content-Security-Policy" in response.headers


def test_upload_accepted_then_listed_with_its_answer(provider_a, gw):
    numero = uploaded(provider_a, "UP1")
    with gw.db.reading() as s:
        message = s.scalar(select(models.Message).order_by(models.Message.id.desc()))
    assert message.channel == "upload" and message.file_name == "lote.xml"
    listing = ps.text(provider_a.get(f"{AREA}/arquivos"))
    assert numero in listing and "Processado" in listing and "ENVIO_LOTE_GUIAS" in listing
    detail = ps.text(provider_a.get(f"{AREA}/arquivos/{message.id}"))
    for expected in ("UP1", PROVIDER_A.code, "345678", numero, "lote.xml", "Nenhuma ocorrência"):
        assert expected in detail
    sent = provider_a.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert sent.data == message.raw_request
    assert sent.headers["Content-Disposition"] == 'attachment; filename="lote.xml"'
    assert sent.headers["Content-Type"] == "application/xml; charset=ISO-8859-1"
    answer = provider_a.get(f"{AREA}/arquivos/{message.id}/retorno")
    assert answer.data == message.raw_response and numero.encode() in answer.data


def test_upload_of_another_providers_file_is_refused_and_listed(provider_a, gw):
    response = pa.upload(provider_a, pa.lot_file(PROVIDER_B, "UPB"))
    assert response.status_code == 422
    assert "O Recebedor do arquivo diverge do login utilizado" in ps.text(response)
    listing = ps.text(provider_a.get(f"{AREA}/arquivos"))
    assert "Recusado" in listing
    with gw.db.reading() as s:
        assert s.scalar(select(models.Lot)) is None


def test_schema_errors_are_listed_for_the_clerk(provider_a):
    data = pa.lot_file(PROVIDER_A, "UPX").replace(
        b"<ans:indicacaoAcidente>9<", b"<ans:indicacaoAcidente>7<"
    )
    page = ps.text(pa.upload(provider_a, data))
    assert "não foi aceito" in page and "5001" in page
    assert "indicacaoAcidente tem o valor &#39;7&#39;" in page
    not_xml = ps.text(pa.upload(provider_a, b"%PDF-1.4 not xml", "nota.pdf"))
    assert "5002" in not_xml
    # Refused before the sender could be read, they are still this provider's files.
    listing = ps.text(provider_a.get(f"{AREA}/arquivos"))
    assert listing.count("Recusado") == 2 and "nota.pdf" in listing


def test_empty_upload_is_a_field_error(provider_a):
    response = ps.post(provider_a, f"{AREA}/envio-xml", {}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Escolha o arquivo XML" in ps.text(response)


def test_status_page_is_the_soap_answer(provider_a, gw):
    numero = uploaded(provider_a, "ST1", 2)
    page = ps.text(provider_a.get(f"{AREA}/status", query_string={"protocolo": numero}))
    assert "1 - Recebido" in page and "ST1" in page and "R$ 300,00" in page
    analyse(gw, numero, guide_glosa=("1705", Decimal("30.00")))
    page = ps.text(provider_a.get(f"{AREA}/status", query_string={"protocolo": numero}))
    assert "5 - Analisado e aguardando liberação para pagamento" in page
    assert "1801" in page


def test_capa_de_lote_pdf_has_the_totals(provider_a, gw):
    numero = uploaded(provider_a, "CP1", 3)
    analyse(gw, numero)
    response = provider_a.get(f"{AREA}/capa-de-lote/{numero}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pa.pdf_text(response.data)
    for expected in (
        "Capa de Lote",
        numero,
        "CP1",
        PROVIDER_A.name,
        "Guia de SP/SADT",
        "R$ 450,00",
        "R$ 20,00",
        "R$ 430,00",
    ):
        assert expected in text, expected


def test_statements_pdfs_and_reports(provider_a, gw):
    numero = uploaded(provider_a, "DM1", 2)
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    payment = provider_a.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "competencia", "competencia": "2026-11"},
    )
    assert payment.status_code == 200, ps.text(payment)[:300]
    text = pa.pdf_text(payment.data)
    for expected in (
        "Demonstrativo de Pagamento",
        numero,
        "R$ 300,00",
        "R$ 280,00",
        "R$ 10,00",
        "R$ 270,00",
        "ISS",
    ):
        assert expected in text, expected
    by_date = provider_a.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "data", "data": "2026-11-30"},
    )
    assert "R$ 270,00" in pa.pdf_text(by_date.data)
    odonto = provider_a.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "odonto", "periodo": "data", "data": "2026-11-30"},
    )
    assert odonto.status_code == 404 and "Não há pagamento" in ps.text(odonto)
    analysis = provider_a.get(f"{AREA}/demonstrativos/analise/{numero}.pdf")
    text = pa.pdf_text(analysis.data)
    assert "Demonstrativo de Análise de Conta" in text and f"AC{numero}" in text
    assert "1801" in text and "R$ 280,00" in text
    for kind in ("analitico", "sintetico"):
        pdf = provider_a.get(f"{AREA}/relatorios/{numero}/{kind}.pdf")
        assert "R$ 280,00" in pa.pdf_text(pdf.data)
        xlsx = provider_a.get(f"{AREA}/relatorios/{numero}/{kind}.xlsx")
        assert xlsx.mimetype.endswith("spreadsheetml.sheet")
        assert any(numero in row for row in pa.sheet_values(xlsx.data) if row)


def test_reports_wait_for_the_analysis(provider_a):
    numero = uploaded(provider_a, "RP1")
    response = provider_a.get(f"{AREA}/relatorios/{numero}/analitico.pdf")
    assert response.status_code == 302
    page = ps.text(provider_a.get(response.headers["Location"]))
    assert "ficam disponíveis depois da análise" in page
    statement = provider_a.get(f"{AREA}/demonstrativos/analise/{numero}.pdf")
    assert statement.status_code == 302


def test_payment_form_errors(provider_a):
    response = provider_a.get(
        f"{AREA}/demonstrativos/pagamento", query_string={"tipo": "medico", "periodo": "x"}
    )
    assert response.status_code == 422 and "Escolha o período" in ps.text(response)
    response = provider_a.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "competencia", "competencia": "13/2026"},
    )
    assert response.status_code == 422 and "Informe o mês e o ano" in ps.text(response)


def test_eligibility_valid_and_invalid_cards(provider_a, gw):
    pa.beneficiaries(gw)
    page = "/portal/prestador/elegibilidade"
    ok = ps.text(ps.post(provider_a, page, {"carteira": pa.ACTIVE_CARD}))
    assert "Elegível" in ok and "Maria Ativa" in ok
    gone = ps.text(ps.post(provider_a, page, {"carteira": pa.CANCELLED_CARD}))
    assert "Inelegível" in gone and "1006" in gone
    unknown = ps.text(ps.post(provider_a, page, {"carteira": "0000"}))
    assert "Inelegível" in unknown and "1001" in unknown
    receipt = ps.post(
        provider_a, f"{page}/comprovante", {"carteira": pa.ACTIVE_CARD}, token_from=page
    )
    assert "ELEGÍVEL" in pa.pdf_text(receipt.data)


def test_my_data(provider_a):
    page = ps.text(provider_a.get(f"{AREA}/meus-dados"))
    assert PROVIDER_A.name in page and PROVIDER_A.code in page and "11.222.333/0001-81" in page


def test_my_data_of_a_provider_credentialed_in_the_portal(client, gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_in_final_review(gw, staff)
    queue.decide(
        gw.db, staff, ps.request_of(gw, account), "approve", None, ps.now(), code="CLIN0042"
    )
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    home = ps.text(client.get(f"{AREA}/"))
    assert "Credenciamento aprovado." in home and "CLIN0042" in home
    page = ps.text(client.get(f"{AREA}/meus-dados"))
    for expected in (
        "Clínica Exemplo Ltda",
        "CLIN0042",
        "Médico · Clínica / ambulatório",
        "CRM",
        "DF",
        "contato@clinicaexemplo.com.br",
        "(61) 99999-0000",
        "001 – Banco do Brasil",
        "1234",
        "56789",
        "SBS Quadra 2",
    ):
        assert expected in page, expected
    assert "<dt>DV</dt><dd>0</dd>" in page


def test_odontological_payments_have_their_own_statement(provider_a, gw):
    numero = uploaded(provider_a, "OD1", 2)
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    with gw.db.transaction() as s:  # as if the lot had been of guias odontológicas
        lot = s.scalar(select(models.Lot).where(models.Lot.numero_lote == "OD1"))
        for guide in lot.guides:
            guide.guide_type = "guiaOdonto"
    query = {"periodo": "data", "data": "2026-11-30"}
    medico = provider_a.get(
        f"{AREA}/demonstrativos/pagamento", query_string=dict(query, tipo="medico")
    )
    assert medico.status_code == 404
    odonto = provider_a.get(
        f"{AREA}/demonstrativos/pagamento", query_string=dict(query, tipo="odonto")
    )
    text = pa.pdf_text(odonto.data)
    assert "Assistência Odontológica" in text and numero in text and "R$ 270,00" in text


def test_web_service_messages_are_listed_without_the_password(provider_a, gw):
    answer = post_soap(
        provider_a, lote_guias_ws(sample_lot(PROVIDER_A, "WS1", registro_ans=REGISTRO_ANS))
    )
    assert answer.protocol
    with gw.db.reading() as s:
        message = s.scalar(select(models.Message).where(models.Message.channel == "soap"))
    assert PROVIDER_A.senha_md5.encode() in message.raw_request
    listing = ps.text(provider_a.get(f"{AREA}/arquivos"))
    assert answer.protocol in listing and "Web service" in listing
    sent = provider_a.get(f"{AREA}/arquivos/{message.id}/enviado").data
    assert PROVIDER_A.senha_md5.encode() not in sent
    assert b"<ans:senhaPrestador>********</ans:senhaPrestador>" in sent
    assert len(sent) == len(message.raw_request) - len(PROVIDER_A.senha_md5) + 8


def test_period_fields_as_people_type_them():
    assert typed_day("30/11/2026") == typed_day("2026-11-30") == date(2026, 11, 30)
    assert typed_day("31/02/2026") is None and typed_day("ontem") is None
    assert competencia("11/2026") == competencia("2026-11") == competencia("202611") == "202611"
    assert competencia("13/2026") is None and competencia("1999-01") is None
