"""The demonstrativo de pagamento odontológico (tipoDemonstrativo 3) over SOAP: a lot of guias
odontológicas received, analysed and paid, then the statement a dental clinic's system reads,
in 4.02.00 and 4.03.00. Every answer is validated against the official XSD of its version."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from gateway.services.admin import add_provider
from gateway.services.provider_area.statements import ODONTO, payment_statement
from gateway.tiss.header import Party
from gateway.tiss.samples import lote_guias_ws, solicitacao_demonstrativo_pagamento_ws
from storage import models
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.test_soap_queries import analyse, pay, query_for
from tests.tissclient import NS, Provider, post, sample_lot

VERSIONS = ["4.02.00", "4.03.00"]
ODONTO_GUIDE = "guiaOdonto"


def send_lot(client, provider, numero, *, guide_type=ODONTO_GUIDE, version="4.03.00", **kw):
    lot = sample_lot(
        provider,
        numero,
        2,
        registro_ans=REGISTRO_ANS,
        guide_type=guide_type,
        version=version,
        **kw,
    )
    answer = post(client, lote_guias_ws(lot), version=version)
    assert answer.protocol, answer.raw
    return answer.protocol


def ask(client, provider, *, tipo, version="4.03.00", query=None, **period):
    query = query or query_for(provider, version=version)
    return post(
        client,
        solicitacao_demonstrativo_pagamento_ws(query, tipo=tipo, **period),
        version=version,
        service="tissSolicitacaoDemonstrativoRetorno",
    )


def texts(el, path):
    return [e.text for e in el.iterfind(path, NS)]


# The gateway's clock (Brazil's day): November 2026 still running, then over. A period with
# nothing paid is 2 (Em análise) while it runs, 7 (Não localizado) once over with nothing of the
# provider left to pay.
DURING_NOVEMBER = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
AFTER_NOVEMBER = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


def set_clock(gw, monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(gw, "utcnow", lambda: moment)


def tipo_transacao(answer):
    return answer.text("ans:cabecalho/ans:identificacaoTransacao/ans:tipoTransacao")


@pytest.mark.parametrize("version", VERSIONS)
def test_odonto_statement_of_a_paid_lot(client, gw, version):
    numero = send_lot(client, PROVIDER_A, "OD1", version=version)
    # Guide 1: 20.00 glosa 1801 on its first procedure; guide 2: 30.00 glosa 1705 on the guide.
    analyse(gw, numero, guide_glosa=("1705", Decimal("30.00")))
    pay(gw, numero, PROVIDER_A.code)  # 130.00 + 120.00, ISS 10.00 debited
    today = gw.local(datetime.now(UTC)).date().isoformat()
    by_date = ask(client, PROVIDER_A, tipo="3", version=version, data_pagamento="2026-11-30")
    by_month = ask(client, PROVIDER_A, tipo="3", version=version, competencia="202611")
    for answer, statement_number in ((by_date, "PO20261130"), (by_month, "PO202611")):
        assert answer.text("ans:cabecalho/ans:Padrao") == version
        assert tipo_transacao(answer) == "DEMONSTRATIVO_ODONTOLOGIA"
        demo = answer.payload.find(".//ans:demonstrativoPagamentoOdonto", NS)
        assert demo is not None, answer.raw
        cab = demo.find("ans:cabecalhoDemonstrativoOdonto", NS)
        assert cab.findtext("ans:registroANS", namespaces=NS) == REGISTRO_ANS
        assert cab.findtext("ans:numeroDemonstrativo", namespaces=NS) == statement_number
        assert texts(cab, "ans:periodoProc/*") == [today, today]  # received, analysed
        assert demo.findtext("ans:dadosPrestador/ans:codigoPrestador", namespaces=NS) == "PRESTA"
        assert (
            demo.findtext(".//ans:cpfCNPJContratado/ans:cnpjPrestador", namespaces=NS)
            == PROVIDER_A.cnpj
        )

        por_data = demo.findall("ans:dadosPagamentoPorData", NS)
        assert len(por_data) == 1
        pagamento = por_data[0]
        assert texts(pagamento, "ans:dadosPagamento/*") == ["2026-11-30", "341", "1234", "99887"]
        protocolo = pagamento.find("ans:protocolos", NS)
        assert protocolo.findtext("ans:numeroProtocolo", namespaces=NS) == numero
        assert protocolo.findtext("ans:numeroLote", namespaces=NS) == "OD1"

        first, second = protocolo.findall("ans:dadosPagamentoGuia", NS)
        assert texts(protocolo, "ans:dadosPagamentoGuia/ans:numeroGuiaPrestador") == [
            "G000001",
            "G000002",
        ]
        assert first.findtext("ans:carteiraBeneficiario", namespaces=NS) == "00012345678901"
        assert first.findtext("ans:nomeExecutante", namespaces=NS) == PROVIDER_A.name
        assert first.findtext("ans:recurso", namespaces=NS) == "N"
        # Each procedure: informed, processed, glosa, franquia, released, and its glosa codes.
        proc1, proc2 = first.findall("ans:dadosPagamento", NS)
        assert proc1.findtext("ans:procedimento/ans:codigoProcedimento", namespaces=NS) == (
            "81000065"
        )
        assert proc1.findtext("ans:dataRealizacao", namespaces=NS) == "2026-11-03"
        assert proc1.findtext("ans:qtdProc", namespaces=NS) == "1"
        values = (
            "ans:valorInformado",
            "ans:valorProcessado",
            "ans:valorGlosaEstorno",
            "ans:valorFranquia",
            "ans:valorLiberado",
        )
        assert [proc1.findtext(v, namespaces=NS) for v in values] == [
            "75.00",
            "75.00",
            "20.00",
            "0.00",
            "55.00",
        ]
        assert texts(proc1, "ans:codigosGlosa") == ["1801"]
        assert [proc2.findtext(v, namespaces=NS) for v in values] == [
            "75.00",
            "75.00",
            "0.00",
            "0.00",
            "75.00",
        ]
        assert texts(proc2, "ans:codigosGlosa") == []
        guide_totals = [
            "ans:valorTotalInformadoGuia",
            "ans:valorTotalProcessadoGuia",
            "ans:valorTotalGlosaGuia",
            "ans:valorTotalFranquiaGuia",
            "ans:valorTotalLiberadoGuia",
        ]
        assert [first.findtext(v, namespaces=NS) for v in guide_totals] == [
            "150.00",
            "150.00",
            "20.00",
            "0.00",
            "130.00",
        ]
        assert first.find("ans:observacaoGuia", NS) is None
        # The glosa on the guide as a whole has no codigosGlosa of its own: it is in observacao.
        assert texts(second, ".//ans:codigosGlosa") == []
        assert "1705" in second.findtext("ans:observacaoGuia", namespaces=NS)
        assert [second.findtext(v, namespaces=NS) for v in guide_totals] == [
            "150.00",
            "150.00",
            "30.00",
            "0.00",
            "120.00",
        ]

        assert texts(protocolo, "ans:totaisPorProtocolo/*") == [
            "300.00",
            "300.00",
            "50.00",
            "0.00",
            "250.00",
        ]
        assert texts(pagamento, "ans:totaisPorData/*") == [
            "300.00",
            "300.00",
            "50.00",
            "0.00",
            "250.00",
        ]
        assert texts(pagamento, "ans:debCredPorDataPagamento/ans:descontos/*") == [
            "1",
            "02",
            "ISS",
            "10.00",
        ]
        assert texts(pagamento, "ans:totalLiquidoPorData/*") == ["10.00", "0.00", "240.00"]
        assert texts(demo, "ans:totaisBrutoDemonstrativo/*") == [
            "300.00",
            "300.00",
            "50.00",
            "0.00",
            "250.00",
        ]
        assert texts(demo, "ans:debCredDemonstrativo/ans:descontos/ans:valorDbCr") == ["10.00"]
        assert demo.findtext("ans:totalDebitosDemonstativo", namespaces=NS) == "10.00"
        assert demo.findtext("ans:totalCreditosDemonstrativo", namespaces=NS) == "0.00"
        assert demo.findtext("ans:valorRecebidoDemonstrativo", namespaces=NS) == "240.00"


def test_portal_prints_the_number_the_web_service_answers(client, gw):
    numero = send_lot(client, PROVIDER_A, "OD2")
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    answer = ask(client, PROVIDER_A, tipo="3", data_pagamento="2026-11-30")
    with gw.db.reading() as s:
        provider_id = s.scalar(
            select(models.Provider.id).where(models.Provider.codigo_na_operadora == "PRESTA")
        )
    pdf = payment_statement(gw, provider_id, ODONTO, data_pagamento=date(2026, 11, 30))
    assert pdf.numero == answer.text(".//ans:numeroDemonstrativo") == "PO20261130"


@pytest.mark.parametrize("version", VERSIONS)
def test_odonto_statement_with_only_medical_payments_is_not_ready(client, gw, monkeypatch, version):
    numero = send_lot(client, PROVIDER_A, "MD1", guide_type="guiaSP-SADT", version=version)
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    for moment, status in ((DURING_NOVEMBER, "2"), (AFTER_NOVEMBER, "7")):
        set_clock(gw, monkeypatch, moment)
        answer = ask(client, PROVIDER_A, tipo="3", version=version, competencia="202611")
        assert answer.payload.find(".//ans:demonstrativoPagamentoOdonto", NS) is None
        situacao = answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
        assert situacao is not None, answer.raw
        assert situacao.findtext("ans:tipoDemonstrativo", namespaces=NS) == "3"
        assert situacao.findtext("ans:situacaoDemonstrativo", namespaces=NS) == status
        assert situacao.findtext("ans:numeroProtocolo", namespaces=NS) == "PO202611"
        assert tipo_transacao(answer) == "DEMONSTRATIVO_ODONTOLOGIA"
        assert numero.encode() not in answer.raw


def test_medical_statement_still_leaves_odonto_payments_out(client, gw, monkeypatch):
    set_clock(gw, monkeypatch, DURING_NOVEMBER)
    odonto = send_lot(client, PROVIDER_A, "OD3")
    analyse(gw, odonto)
    pay(gw, odonto, PROVIDER_A.code)
    only_odonto = ask(client, PROVIDER_A, tipo="1", data_pagamento="2026-11-30")
    situacao = only_odonto.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
    assert situacao is not None, only_odonto.raw
    assert situacao.findtext("ans:tipoDemonstrativo", namespaces=NS) == "1"
    assert situacao.findtext("ans:situacaoDemonstrativo", namespaces=NS) == "2"
    assert tipo_transacao(only_odonto) == "DEMONSTRATIVO_PAGAMENTO"

    medico = send_lot(client, PROVIDER_A, "MD2", guide_type="guiaSP-SADT")
    analyse(gw, medico)
    pay(gw, medico, PROVIDER_A.code)
    both_1 = ask(client, PROVIDER_A, tipo="1", data_pagamento="2026-11-30")
    both_3 = ask(client, PROVIDER_A, tipo="3", data_pagamento="2026-11-30")
    assert texts(both_1.payload, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [medico]
    assert texts(both_3.payload, ".//ans:protocolos/ans:numeroProtocolo") == [odonto]


ALPHANUMERIC = Provider(
    cnpj="12ABC34501DE35", code="PRESTX", name="Odonto X", password="Senha@X789"
)


@pytest.mark.parametrize("version", VERSIONS)
def test_alphanumeric_cnpj_only_in_a_version_that_has_it(client, gw, version):
    add_provider(
        gw.db,
        cnpj=ALPHANUMERIC.cnpj,
        code=ALPHANUMERIC.code,
        name=ALPHANUMERIC.name,
        password=ALPHANUMERIC.password,
    )
    # 4.02.00 has no alphanumeric CNPJ: the provider names itself by its code there.
    origem = Party("codigoPrestadorNaOperadora", ALPHANUMERIC.code)
    numero = send_lot(client, ALPHANUMERIC, "OD4", version=version, origem=origem)
    analyse(gw, numero)
    pay(gw, numero, ALPHANUMERIC.code)
    query = query_for(ALPHANUMERIC, version=version, origem=origem)
    answer = ask(client, ALPHANUMERIC, tipo="3", query=query, competencia="202611")
    if version == "4.03.00":
        assert answer.text(".//ans:cnpjPrestador") == ALPHANUMERIC.cnpj
    else:
        assert answer.code == "5001"
        assert "4.03.00" in answer.text(".//ans:mensagemErro/ans:descricaoGlosa")
        assert tipo_transacao(answer) == "DEMONSTRATIVO_ODONTOLOGIA"
