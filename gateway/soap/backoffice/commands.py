"""Operations that write: alterarStatusProtocolo, registrarAnalise, registrarPagamento,
carregarBeneficiarios."""

from lxml import etree

from gateway.services.backoffice.analysis import (
    GlosaInput,
    GuideAnalysis,
    ItemAnalysis,
    record_analysis,
)
from gateway.services.backoffice.beneficiaries import load_beneficiaries
from gateway.services.backoffice.payments import (
    Adjustment,
    GuidePayment,
    PaymentInput,
    ProtocolPayment,
    record_payment,
)
from gateway.services.backoffice.protocols import change_status
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.beneficiaries import BeneficiaryData
from gateway.services.gateway import Gateway
from gateway.soap.backoffice import render
from gateway.soap.backoffice.xml import Reader, element, money, node, sub


def alterar_status(gw: Gateway, staff: StaffPrincipal, r: Reader) -> etree._Element:
    view = change_status(
        gw.db, staff, r.required("numeroProtocolo"), r.integer("novoStatus"), r.text("motivo")
    )
    answer = element("alterarStatusProtocoloResposta")
    render.protocol(answer, view)
    return answer


def _glosas(r: Reader) -> tuple[GlosaInput, ...]:
    return tuple(
        GlosaInput(g.required("codigoGlosa"), g.decimal("valor"), g.text("descricao"))
        for g in r.children("glosa")
    )


def registrar_analise(gw: Gateway, staff: StaffPrincipal, r: Reader) -> etree._Element:
    guides = [
        GuideAnalysis(
            numero_guia_prestador=g.required("numeroGuiaPrestador"),
            valor_processado=g.decimal("valorProcessado"),
            valor_liberado=g.decimal("valorLiberado"),
            glosas=_glosas(g),
            items=tuple(
                ItemAnalysis(
                    sequencial=i.integer("sequencialItem"),
                    valor_processado=i.decimal("valorProcessado"),
                    valor_liberado=i.decimal("valorLiberado"),
                    glosas=_glosas(i),
                )
                for i in g.children("item")
            ),
        )
        for g in r.children("guia")
    ]
    view = record_analysis(
        gw.db,
        staff,
        r.required("numeroProtocolo"),
        guides,
        r.text("motivo"),
        glosa_tables=gw.glosa_tables(),
    )
    answer = element("registrarAnaliseResposta")
    render.protocol(answer, view)
    return answer


def registrar_pagamento(gw: Gateway, staff: StaffPrincipal, r: Reader) -> etree._Element:
    data = PaymentInput(
        provider_code=r.required("codigoPrestador"),
        data_pagamento=r.date("dataPagamento"),
        competencia=r.required("competencia").strip(),
        forma_pagamento=r.required("formaPagamento").strip(),
        banco=r.text("banco"),
        agencia=r.text("agencia"),
        conta=r.text("conta"),
        protocols=[
            ProtocolPayment(
                p.required("numeroProtocolo"),
                tuple(
                    GuidePayment(g.required("numeroGuiaPrestador"), g.decimal("valorPago"))
                    for g in p.children("guia")
                ),
            )
            for p in r.children("protocolo")
        ],
        adjustments=[
            Adjustment(
                a.required("indicador").strip(),
                a.required("tipoDebitoCredito").strip(),
                a.required("descricao"),
                a.decimal("valor"),
            )
            for a in r.children("debitoCredito")
        ],
    )
    result = record_payment(gw.db, staff, data)
    answer = element("registrarPagamentoResposta")
    sub(answer, "idPagamento", result.payment_id)
    sub(answer, "codigoPrestador", result.provider_code)
    sub(answer, "dataPagamento", result.data_pagamento)
    sub(answer, "competencia", result.competencia)
    sub(answer, "valorBruto", money(result.valor_bruto))
    sub(answer, "valorDebitos", money(result.valor_debitos))
    sub(answer, "valorCreditos", money(result.valor_creditos))
    sub(answer, "valorLiquido", money(result.valor_liquido))
    for paid in result.protocols:
        el = node(answer, "protocolo")
        sub(el, "numeroProtocolo", paid.numero)
        sub(el, "status", paid.status)
        sub(el, "valorPago", money(paid.valor_pago))
    return answer


def carregar_beneficiarios(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    items = [
        BeneficiaryData(
            numero_carteira=b.required("numeroCarteira"),
            name=b.required("nome"),
            plan=b.required("plano"),
            status=b.required("situacao").strip(),
            joined_on=b.date("dataAdesao"),
            left_on=b.date("dataDesligamento"),
            card_valid_until=b.date("validadeCarteira"),
        )
        for b in r.children("beneficiario")
    ]
    answer = element("carregarBeneficiariosResposta")
    sub(answer, "quantidade", load_beneficiaries(gw.db, items))
    return answer
