"""The whole story, from outside, through SOAP only: a provider sends a lot (status 1); the
operator's zeep script moves it to analysis and records glosas; the status query shows each step;
a payment is recorded; the provider's payment and account-analysis statements show the right
totals and glosa codes. Eligibility for an active card, an unknown one and one after
termination. The second provider sees none of the first one's protocols or statements.

TISS answers are validated against the official XSD (tests/tissclient.py); back-office answers
against the project's own XSD (tests/backoffice_client.py)."""

from decimal import Decimal

import requests

from gateway.tiss.namespaces import version_slug
from gateway.tiss.samples import (
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from tests.backoffice_client import make_client
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.test_soap_queries import query_for
from tests.tissclient import NS, envelope, read_answer, sample_lot


def tiss(server_url, element, service, version="4.03.00"):
    """A provider's system posting over real HTTP."""
    response = requests.post(
        f"{server_url}/tiss/{version_slug(version)}/{service}",
        data=envelope(element),
        headers={"Content-Type": "text/xml; charset=ISO-8859-1"},
        timeout=30,
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.content, version
    )


def status(server_url, provider, numero):
    answer = tiss(
        server_url,
        solicitacao_status_ws(query_for(provider), numero),
        "tissSolicitacaoStatusProtocolo",
    )
    return answer.text(".//ans:statusProtocolo"), answer


def test_lot_to_payment_statement(server_url, staff):
    # 1. The provider sends a lot of 2 SP/SADT guides of 150.00 (items 75.00 + 75.00).
    lot = sample_lot(PROVIDER_A, "HIST1", 2, registro_ans=REGISTRO_ANS, guide_type="guiaSP-SADT")
    numero = tiss(server_url, lote_guias_ws(lot), "tissLoteGuias").protocol
    assert status(server_url, PROVIDER_A, numero)[0] == "1"

    # 2. The operator's script moves it to analysis and records glosas.
    backoffice, _ = make_client(server_url)
    backoffice.service.alterarStatusProtocolo(
        numeroProtocolo=numero, novoStatus=2, motivo="conferência da conta"
    )
    assert status(server_url, PROVIDER_A, numero)[0] == "2"
    backoffice.service.registrarAnalise(
        numeroProtocolo=numero,
        guia=[
            {
                "numeroGuiaPrestador": "G000001",
                "item": [
                    {
                        "sequencialItem": 1,
                        "glosa": [{"codigoGlosa": "1801", "valor": Decimal("20.00")}],
                    }
                ],
            },
            {
                "numeroGuiaPrestador": "G000002",
                "glosa": [{"codigoGlosa": "1705", "valor": Decimal("30.00")}],
            },
        ],
    )
    code, answer = status(server_url, PROVIDER_A, numero)
    assert code == "5"
    assert answer.text(".//ans:valorTotalLote/ans:valorLiberado") == "250.00"
    assert answer.text(".//ans:valorTotalLote/ans:valorGlosa") == "50.00"

    # 3. Released, then paid.
    backoffice.service.alterarStatusProtocolo(
        numeroProtocolo=numero, novoStatus=3, motivo="liberado"
    )
    assert status(server_url, PROVIDER_A, numero)[0] == "3"
    backoffice.service.registrarPagamento(
        codigoPrestador=PROVIDER_A.code,
        dataPagamento="2026-12-10",
        competencia="202612",
        formaPagamento="1",
        banco="341",
        agencia="1234",
        conta="55555",
        protocolo=[{"numeroProtocolo": numero}],
        debitoCredito=[
            {
                "indicador": "1",
                "tipoDebitoCredito": "02",
                "descricao": "ISS",
                "valor": Decimal("12.50"),
            }
        ],
    )
    assert status(server_url, PROVIDER_A, numero)[0] == "6"

    # 4. The provider's statements.
    pagamento = tiss(
        server_url,
        solicitacao_demonstrativo_pagamento_ws(query_for(PROVIDER_A), competencia="202612"),
        "tissSolicitacaoDemonstrativoRetorno",
    )
    demo = pagamento.payload.find(".//ans:demonstrativoPagamento", NS)
    assert demo.findtext(".//ans:relacaoProtocolos/ans:numeroProtocolo", namespaces=NS) == numero
    assert demo.findtext(".//ans:valorInformadoBruto", namespaces=NS) == "300.00"
    assert demo.findtext(".//ans:valorLiberadoBruto", namespaces=NS) == "250.00"
    assert demo.findtext(".//ans:valorGlosaBruto", namespaces=NS) == "50.00"
    assert demo.findtext(".//ans:valorLiberadoDemonstrativo", namespaces=NS) == "237.50"

    analise = tiss(
        server_url,
        solicitacao_demonstrativo_analise_ws(query_for(PROVIDER_A), [numero]),
        "tissSolicitacaoDemonstrativoRetorno",
    )
    conta = analise.payload.find(".//ans:demonstrativoAnaliseConta", NS)
    assert conta.findtext("ans:valorLiberadoGeral", namespaces=NS) == "250.00"
    assert conta.findtext("ans:valorGlosaGeral", namespaces=NS) == "50.00"
    assert conta.findtext(".//ans:situacaoProtocolo", namespaces=NS) == "6"
    assert [e.text for e in conta.iterfind(".//ans:relacaoGlosa/ans:tipoGlosa", NS)] == ["1801"]
    assert [e.text for e in conta.iterfind(".//ans:motivoGlosaGuia/ans:codigoGlosa", NS)] == [
        "1705"
    ]

    # 5. The second provider sees none of it.
    other_status = status(server_url, PROVIDER_B, numero)[1]
    assert other_status.code == "3291"
    other_analysis = tiss(
        server_url,
        solicitacao_demonstrativo_analise_ws(query_for(PROVIDER_B), [numero]),
        "tissSolicitacaoDemonstrativoRetorno",
    )
    assert other_analysis.code == "3291"
    other_payment = tiss(
        server_url,
        solicitacao_demonstrativo_pagamento_ws(query_for(PROVIDER_B), competencia="202612"),
        "tissSolicitacaoDemonstrativoRetorno",
    )
    assert other_payment.payload.find(".//ans:demonstrativoPagamento", NS) is None
    assert numero.encode() not in other_payment.raw


def test_eligibility_from_beneficiaries_loaded_by_the_operator(server_url, staff):
    backoffice, _ = make_client(server_url)
    backoffice.service.carregarBeneficiarios(
        beneficiario=[
            {
                "numeroCarteira": "8000000000001",
                "nome": "Maria Ativa",
                "plano": "Ouro",
                "situacao": "ativo",
                "dataAdesao": "2020-01-01",
                "validadeCarteira": "2030-12-31",
            },
            {
                "numeroCarteira": "8000000000002",
                "nome": "João Desligado",
                "plano": "Prata",
                "situacao": "cancelado",
                "dataAdesao": "2019-01-01",
                "dataDesligamento": "2025-06-30",
            },
        ]
    )

    def ask(card):
        return tiss(
            server_url,
            pedido_elegibilidade_ws(query_for(PROVIDER_A), card),
            "tissVerificaElegibilidade",
        )

    assert ask("8000000000001").text(".//ans:respostaSolicitacao") == "S"
    after = ask("8000000000002")
    assert after.text(".//ans:respostaSolicitacao") == "N"
    assert after.text(".//ans:motivoNegativa/ans:codigoGlosa") == "1006"
    unknown = ask("8000000000009")
    assert unknown.text(".//ans:respostaElegibilidade/ans:codigoGlosa/ans:codigoGlosa") == "1001"
