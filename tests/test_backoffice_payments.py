"""Recording a payment over the back-office API: per protocol and guide values (the released
value by default), debits and credits, every paid protocol moved to 6 through allowed
transitions, all in one transaction; refusals write nothing."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage import models
from tests.backoffice_client import (
    STAFF,
    fault_of,
    force_status,
    make_client,
    send_lot,
    stored_protocol,
)
from tests.conftest import PROVIDER_A, PROVIDER_B

D = Decimal


@pytest.fixture
def bo(server_url, staff):
    return make_client(server_url, auth="basic")[0].service


def analysed(gw, bo, client, provider, numero_lote, guia=()):
    """A protocol of `provider` with a recorded analysis, in 5 (Analisado)."""
    numero = send_lot(client, provider, numero_lote)
    force_status(gw, numero, 2)
    bo.registrarAnalise(numeroProtocolo=numero, guia=list(guia))
    return numero


def payment(protocolos, **overrides):
    values = dict(
        codigoPrestador=PROVIDER_A.code,
        dataPagamento=date(2026, 12, 10),
        competencia="202612",
        formaPagamento="1",
        banco="001",
        agencia="1234",
        conta="98765-4",
        protocolo=protocolos,
    )
    values.update(overrides)
    return values


def count(gw, model) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_payment_of_two_protocols_with_debits_and_credits(gw, bo, client):
    glosa = [
        {"numeroGuiaPrestador": "G000001", "glosa": [{"codigoGlosa": "1705", "valor": D("30.00")}]}
    ]
    in_5 = analysed(gw, bo, client, PROVIDER_A, "PAG1", glosa)  # liberado 120 + 150
    in_3 = analysed(gw, bo, client, PROVIDER_A, "PAG2")  # liberado 150 + 150
    bo.alterarStatusProtocolo(numeroProtocolo=in_3, novoStatus=3)

    result = bo.registrarPagamento(
        **payment(
            [
                {"numeroProtocolo": in_5},
                {
                    "numeroProtocolo": in_3,
                    "guia": [{"numeroGuiaPrestador": "G000002", "valorPago": D("100.00")}],
                },
            ],
            debitoCredito=[
                {
                    "indicador": "1",
                    "tipoDebitoCredito": "01",
                    "descricao": "IRRF",
                    "valor": D("15.00"),
                },
                {
                    "indicador": "2",
                    "tipoDebitoCredito": "08",
                    "descricao": "Ajuste anterior",
                    "valor": D("5.50"),
                },
            ],
        )
    )

    assert result.valorBruto == D("520.00")  # 120 + 150 + 150 + 100
    assert result.valorDebitos == D("15.00") and result.valorCreditos == D("5.50")
    assert result.valorLiquido == D("510.50")
    assert [(p.numeroProtocolo, p.status, p.valorPago) for p in result.protocolo] == [
        (in_5, 6, D("270.00")),
        (in_3, 6, D("250.00")),
    ]

    with gw.db.reading() as s:
        stored = s.get(models.Payment, result.idPagamento)
        assert (stored.competencia, stored.data_pagamento, stored.forma_pagamento) == (
            "202612",
            date(2026, 12, 10),
            "1",
        )
        assert (stored.banco, stored.agencia, stored.conta, stored.actor) == (
            "001",
            "1234",
            "98765-4",
            STAFF.login,
        )
        lines = s.execute(
            select(
                models.Guide.numero_guia_prestador,
                models.Protocol.numero,
                models.PaymentLine.valor_pago,
            )
            .join(models.Guide, models.Guide.id == models.PaymentLine.guide_id)
            .join(models.Protocol, models.Protocol.id == models.PaymentLine.protocol_id)
            .where(models.PaymentLine.payment_id == stored.id)
            .order_by(models.PaymentLine.id)
        ).all()
        assert [tuple(r) for r in lines] == [
            ("G000001", in_5, D("120.00")),
            ("G000002", in_5, D("150.00")),
            ("G000001", in_3, D("150.00")),
            ("G000002", in_3, D("100.00")),
        ]
        adjustments = s.scalars(
            select(models.PaymentAdjustment)
            .where(models.PaymentAdjustment.payment_id == stored.id)
            .order_by(models.PaymentAdjustment.id)
        ).all()
        assert [(a.indicador, a.tipo, a.descricao, a.valor) for a in adjustments] == [
            ("1", "01", "IRRF", D("15.00")),
            ("2", "08", "Ajuste anterior", D("5.50")),
        ]

    # 5 passes through 3 on its way to 6: every step of the history is an allowed transition.
    assert [h.status for h in stored_protocol(gw, in_5).history] == [1, 5, 3, 6]
    assert [h.status for h in stored_protocol(gw, in_3).history] == [1, 5, 3, 6]
    last = stored_protocol(gw, in_5).history[-1]
    assert last.actor == STAFF.login and f"pagamento {result.idPagamento}" in last.reason
    assert "competência 12/2026" in last.reason


def base_refusals(gw, bo, client):
    own = analysed(gw, bo, client, PROVIDER_A, "REF1")
    other = analysed(gw, bo, client, PROVIDER_B, "REF2")
    in_2 = send_lot(client, PROVIDER_A, "REF3")
    force_status(gw, in_2, 2)
    return own, other, in_2


def test_refused_payments_write_nothing(gw, bo, client):
    own, other, in_2 = base_refusals(gw, bo, client)
    cases = [
        (
            payment([{"numeroProtocolo": own}, {"numeroProtocolo": other}]),
            "RequisicaoInvalida",
            f"protocolo {other} não é do prestador {PROVIDER_A.code}",
        ),
        (
            payment([{"numeroProtocolo": own}, {"numeroProtocolo": in_2}]),
            "OperacaoNaoPermitida",
            f"protocolo {in_2} está em 2 (Em análise)",
        ),
        (
            payment([{"numeroProtocolo": own}, {"numeroProtocolo": own}]),
            "RequisicaoInvalida",
            "mais de uma vez",
        ),
        (
            payment([{"numeroProtocolo": "999999999999"}]),
            "NaoEncontrado",
            "protocolo 999999999999 não encontrado",
        ),
        (
            payment([{"numeroProtocolo": own}], codigoPrestador="NINGUEM"),
            "NaoEncontrado",
            "prestador NINGUEM não encontrado",
        ),
        (
            payment(
                [
                    {
                        "numeroProtocolo": own,
                        "guia": [{"numeroGuiaPrestador": "G000001", "valorPago": D("150.01")}],
                    }
                ]
            ),
            "RequisicaoInvalida",
            "acima do valor liberado 150.00",
        ),
        (
            payment(
                [
                    {
                        "numeroProtocolo": own,
                        "guia": [{"numeroGuiaPrestador": "G000404", "valorPago": D("1.00")}],
                    }
                ]
            ),
            "RequisicaoInvalida",
            "guia G000404 não faz parte",
        ),
        (
            payment(
                [{"numeroProtocolo": own}],
                debitoCredito=[
                    {
                        "indicador": "1",
                        "tipoDebitoCredito": "02",
                        "descricao": "ISS",
                        "valor": D("300.01"),
                    }
                ],
            ),
            "RequisicaoInvalida",
            "valor líquido negativo",
        ),
        (
            payment([{"numeroProtocolo": own}], competencia="202613"),
            "RequisicaoInvalida",
            "competencia",
        ),
        (
            # Full-width digits: digits to Python's \d, not to AAAAMM.
            payment([{"numeroProtocolo": own}], competencia="\uff12\uff10\uff12\uff1611"),
            "RequisicaoInvalida",
            "competência",
        ),
        (
            payment([{"numeroProtocolo": own}], formaPagamento="5"),
            "RequisicaoInvalida",
            "formaPagamento",
        ),
        (
            payment(
                [{"numeroProtocolo": own}],
                debitoCredito=[
                    {
                        "indicador": "1",
                        "tipoDebitoCredito": "10",
                        "descricao": "x",
                        "valor": D("1.00"),
                    }
                ],
            ),
            "RequisicaoInvalida",
            "tipoDebitoCredito",
        ),
        (
            payment(
                [{"numeroProtocolo": own}],
                debitoCredito=[
                    {
                        "indicador": "1",
                        "tipoDebitoCredito": "07",
                        "descricao": "x" * 41,
                        "valor": D("1.00"),
                    }
                ],
            ),
            "RequisicaoInvalida",
            "descricao",
        ),
    ]
    for values, category, expected in cases:
        got, message = fault_of(bo.registrarPagamento, **values)
        assert (got, expected in message) == (category, True), (expected, message)
    assert count(gw, models.Payment) == 0
    assert count(gw, models.PaymentLine) == 0
    assert count(gw, models.PaymentAdjustment) == 0
    assert stored_protocol(gw, own).status == 5
    assert [h.status for h in stored_protocol(gw, own).history] == [1, 5]


def test_a_paid_protocol_cannot_be_paid_again(gw, bo, client):
    numero = analysed(gw, bo, client, PROVIDER_A, "TWICE")
    bo.registrarPagamento(**payment([{"numeroProtocolo": numero}]))
    category, message = fault_of(bo.registrarPagamento, **payment([{"numeroProtocolo": numero}]))
    assert category == "OperacaoNaoPermitida" and "está em 6 (Pagamento efetuado)" in message
    assert count(gw, models.Payment) == 1


def test_payment_without_bank_details(gw, bo, client):
    numero = analysed(gw, bo, client, PROVIDER_A, "BOLETO")
    result = bo.registrarPagamento(
        **payment(
            [{"numeroProtocolo": numero}], formaPagamento="3", banco=None, agencia=None, conta=None
        )
    )
    assert result.valorLiquido == D("300.00")
    with gw.db.reading() as s:
        stored = s.get(models.Payment, result.idPagamento)
        assert (stored.forma_pagamento, stored.banco, stored.conta) == ("3", None, None)
