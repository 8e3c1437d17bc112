"""demonstrativoRetornoWS: account-analysis and payment statements (médico and odontológico), or
why there is none yet."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree

from gateway.tiss.codes import describe
from gateway.tiss.responses import (
    AnswerHeader,
    clip,
    contratado_dados,
    money,
    motivo_glosa,
    new_message,
    seal,
    sub,
)
from gateway.tiss.views import ZERO, GlosaView, GuideView, ItemView, ProtocolView

KIND_PAYMENT = "1"
KIND_ANALYSIS = "2"
KIND_PAYMENT_ODONTO = "3"
DEBIT = "1"
CREDIT = "2"
# st_CNPJ accepts the alphanumeric CNPJ from this version on ([0-9]{14} before it).
ALPHANUMERIC_CNPJ_SINCE = "4.03.00"


@dataclass(frozen=True)
class StatementParties:
    """Who issues the statement and to whom (ct_demonstrativoCabecalho and dadosPrestador)."""

    registro_ans: str
    nome_operadora: str
    cnpj_operadora: str
    codigo_prestador: str
    cnes: str
    data_emissao: date
    # The odontológico statement also names the provider and its CPF or CNPJ.
    nome_prestador: str = ""
    cnpj_prestador: str | None = None
    cpf_prestador: str | None = None


@dataclass(frozen=True)
class PaidGuide:
    numero_guia_prestador: str
    numero_guia_operadora: str | None
    valor_informado: Decimal
    valor_processado: Decimal
    valor_glosa: Decimal
    valor_pago: Decimal
    # What the odontológico statement lists besides the values: the card, the procedures with
    # their own values and glosas, and the glosas on the guide as a whole.
    numero_carteira: str = ""
    items: tuple[ItemView, ...] = ()
    glosas: tuple[GlosaView, ...] = ()


@dataclass(frozen=True)
class PaidProtocol:
    numero: str
    numero_lote: str
    data_protocolo: date
    guides: tuple[PaidGuide, ...]
    data_analise: date | None = None  # when the operator's analysis was recorded

    def total(self, attr: str) -> Decimal:
        return sum((getattr(g, attr) for g in self.guides), ZERO)


@dataclass(frozen=True)
class Adjustment:
    indicador: str  # 1 débito, 2 crédito
    tipo: str  # dm_debitoCreditoTipo
    descricao: str
    valor: Decimal


@dataclass(frozen=True)
class PaymentView:
    numero: str
    data_pagamento: date
    forma_pagamento: str
    banco: str | None
    agencia: str | None
    conta: str | None
    protocols: tuple[PaidProtocol, ...]
    adjustments: tuple[Adjustment, ...] = ()

    def total(self, attr: str) -> Decimal:
        return sum((p.total(attr) for p in self.protocols), ZERO)

    def adjustments_total(self, indicador: str) -> Decimal:
        return sum((a.valor for a in self.adjustments if a.indicador == indicador), ZERO)

    @property
    def liquido(self) -> Decimal:
        return (
            self.total("valor_pago")
            - self.adjustments_total(DEBIT)
            + self.adjustments_total(CREDIT)
        )


def _cabecalho(parent: etree._Element, parties: StatementParties, numero: str) -> None:
    cab = sub(parent, "cabecalhoDemonstrativo")
    sub(cab, "registroANS", parties.registro_ans)
    sub(cab, "numeroDemonstrativo", numero)
    sub(cab, "nomeOperadora", clip(parties.nome_operadora, 70))
    sub(cab, "numeroCNPJ", parties.cnpj_operadora)
    sub(cab, "dataEmissao", parties.data_emissao.isoformat())


def _prestador(parent: etree._Element, name: str, inner: str, parties: StatementParties) -> None:
    box = sub(parent, name)
    contratado_dados(box, inner, parties.codigo_prestador)
    sub(box, "CNES", parties.cnes)


def demonstrativo_analise(
    header: AnswerHeader, parties: StatementParties, statements: list[tuple[str, ProtocolView]]
) -> etree._Element:
    """One demonstrativoAnaliseConta per (statement number, analysed protocol), at most 30."""
    root = new_message("demonstrativoRetornoWS", header)
    retorno = sub(root, "demonstrativoRetorno")
    for numero, view in statements:
        conta = sub(retorno, "demonstrativoAnaliseConta")
        _cabecalho(conta, parties, numero)
        _prestador(conta, "dadosPrestador", "dadosContratado", parties)
        _dados_protocolo(sub(sub(conta, "dadosConta"), "dadosProtocolo"), view)
        sub(conta, "valorInformadoGeral", money(view.informado))
        sub(conta, "valorProcessadoGeral", money(view.processado))
        sub(conta, "valorLiberadoGeral", money(view.liberado))
        sub(conta, "valorGlosaGeral", money(view.glosado))
    return seal(root)


def _dados_protocolo(el: etree._Element, view: ProtocolView) -> None:
    sub(el, "numeroLotePrestador", view.numero_lote)
    sub(el, "numeroProtocolo", view.numero)
    sub(el, "dataProtocolo", view.data_envio.isoformat())
    sub(el, "situacaoProtocolo", str(view.status))
    for guide in view.guides:
        _relacao_guia(sub(el, "relacaoGuias"), guide, view)
    sub(el, "valorInformadoProtocolo", money(view.informado))
    sub(el, "valorProcessadoProtocolo", money(view.processado))
    sub(el, "valorLiberadoProtocolo", money(view.liberado))
    sub(el, "valorGlosaProtocolo", money(view.glosado))


def _relacao_guia(el: etree._Element, guide: GuideView, view: ProtocolView) -> None:
    sub(el, "numeroGuiaPrestador", guide.numero_guia_prestador)
    if guide.numero_guia_operadora:
        sub(el, "numeroGuiaOperadora", guide.numero_guia_operadora)
    sub(el, "numeroCarteira", guide.numero_carteira)
    sub(el, "dataInicioFat", guide.data_realizacao or view.data_envio.isoformat())
    for glosa in guide.glosas:
        motivo_glosa(el, "motivoGlosaGuia", glosa.code, glosa.descricao)
    sub(el, "situacaoGuia", str(view.status))
    for item in guide.items:
        detalhe = sub(el, "detalhesGuia")
        sub(detalhe, "sequencialItem", str(item.sequencial))
        sub(detalhe, "dataRealizacao", item.data_realizacao or view.data_envio.isoformat())
        proc = sub(detalhe, "procedimento")
        sub(proc, "codigoTabela", item.codigo_tabela)
        sub(proc, "codigoProcedimento", item.codigo_procedimento)
        sub(proc, "descricaoProcedimento", clip(item.descricao, 150))
        sub(detalhe, "valorInformado", money(item.valor_informado))
        sub(detalhe, "qtdExecutada", f"{item.quantidade:.4f}")
        processado = item.valor_processado if item.valor_processado is not None else ZERO
        sub(detalhe, "valorProcessado", money(processado))
        sub(detalhe, "valorLiberado", money(item.valor_liberado or ZERO))
        for glosa in item.glosas:
            relacao = sub(detalhe, "relacaoGlosa")
            sub(relacao, "valorGlosa", money(glosa.valor))
            sub(relacao, "tipoGlosa", glosa.code)
    sub(el, "valorInformadoGuia", money(guide.valor_informado))
    sub(el, "valorProcessadoGuia", money(guide.processado))
    sub(el, "valorLiberadoGuia", money(guide.liberado))
    sub(el, "valorGlosaGuia", money(guide.glosado))


def demonstrativo_pagamento(
    header: AnswerHeader, parties: StatementParties, numero: str, payments: list[PaymentView]
) -> etree._Element:
    """ctm_demonstrativoPagamento: one pagamentosPorData per payment, with its protocols and
    guides, gross totals, debits and credits, and the net amount."""
    root = new_message("demonstrativoRetornoWS", header)
    demo = sub(sub(root, "demonstrativoRetorno"), "demonstrativoPagamento")
    _cabecalho(demo, parties, numero)
    _prestador(demo, "dadosContratado", "dadosPrestador", parties)
    pagamentos = sub(demo, "pagamentos")
    for payment in payments:
        _pagamento(sub(pagamentos, "pagamentosPorData"), payment)
    totais = sub(demo, "totaisDemonstrativo")
    brutos = sub(totais, "totaisBrutosDemonstrativo")
    sub(brutos, "valorInformadoBruto", money(_sum(payments, "valor_informado")))
    sub(brutos, "valorProcessadoBruto", money(_sum(payments, "valor_processado")))
    sub(brutos, "valorLiberadoBruto", money(_sum(payments, "valor_pago")))
    sub(brutos, "valorGlosaBruto", money(_sum(payments, "valor_glosa")))
    for payment in payments:
        for adjustment in payment.adjustments:
            _desconto(sub(totais, "debitosCreditosDemonstrativo"), adjustment)
    liquidos = sub(totais, "totaisLiquidosDemonstrativo")
    debits = sum((p.adjustments_total(DEBIT) for p in payments), ZERO)
    credits = sum((p.adjustments_total(CREDIT) for p in payments), ZERO)
    sub(liquidos, "totalDebitosDemonstrativo", money(debits))
    sub(liquidos, "totalCreditosdemonstrativo", money(credits))
    sub(liquidos, "valorLiberadoDemonstrativo", money(sum((p.liquido for p in payments), ZERO)))
    return seal(root)


def _sum(payments: list[PaymentView], attr: str) -> Decimal:
    return sum((p.total(attr) for p in payments), ZERO)


def _pagamento(el: etree._Element, payment: PaymentView) -> None:
    dados = sub(el, "dadosPagamento")
    sub(dados, "dataPagamento", payment.data_pagamento.isoformat())
    sub(dados, "formaPagamento", payment.forma_pagamento)
    for name, value in (
        ("banco", payment.banco),
        ("agencia", payment.agencia),
        ("nrContaCheque", payment.conta),
    ):
        if value:
            sub(dados, name, value)
    resumo = sub(el, "dadosResumo")
    for protocol in payment.protocols:
        rel = sub(resumo, "relacaoProtocolos")
        sub(rel, "dataProtocolo", protocol.data_protocolo.isoformat())
        sub(rel, "numeroProtocolo", protocol.numero)
        sub(rel, "numeroLote", protocol.numero_lote)
        sub(rel, "valorInformado", money(protocol.total("valor_informado")))
        sub(rel, "valorProcessado", money(protocol.total("valor_processado")))
        sub(rel, "valorLiberado", money(protocol.total("valor_pago")))
        sub(rel, "valorGlosa", money(protocol.total("valor_glosa")))
        for guide in protocol.guides:
            g = sub(rel, "guiasDoLote")
            sub(g, "numeroGuiaPrestador", guide.numero_guia_prestador)
            if guide.numero_guia_operadora:
                sub(g, "numeroGuiaOperadora", guide.numero_guia_operadora)
            sub(g, "tipoPagamento", "1")  # inicial; payments of appeals (recurso) are not modelled
            sub(g, "valorProcessadoGuia", money(guide.valor_processado))
            sub(g, "valorLiberadoGuia", money(guide.valor_pago))
            sub(g, "valorGlosaGuia", money(guide.valor_glosa))
    brutos = sub(el, "totaisBrutosPorData")
    sub(brutos, "totalInformadoPorData", money(payment.total("valor_informado")))
    sub(brutos, "totalProcessadoPorData", money(payment.total("valor_processado")))
    sub(brutos, "totaLiberadoPorData", money(payment.total("valor_pago")))
    sub(brutos, "totalGlosaPorData", money(payment.total("valor_glosa")))
    _adjustments_and_net(
        el,
        payment,
        ("debitosCreditosPorData", "debitosCreditos"),
        ("totaisLiquidosPorData", "totalDebitosPorData", "totalCreditosPorData", "liquidoPorData"),
    )


def _adjustments_and_net(
    el: etree._Element,
    payment: PaymentView,
    adjustments: tuple[str, str],
    net: tuple[str, str, str, str],
) -> None:
    """A payment date's débitos/créditos and its net amount; the medical and the odontológico
    statements name the same elements differently."""
    if payment.adjustments:
        box = sub(el, adjustments[0])
        for adjustment in payment.adjustments:
            _desconto(sub(box, adjustments[1]), adjustment)
    totals = sub(el, net[0])
    sub(totals, net[1], money(payment.adjustments_total(DEBIT)))
    sub(totals, net[2], money(payment.adjustments_total(CREDIT)))
    sub(totals, net[3], money(payment.liquido))


def _desconto(el: etree._Element, adjustment: Adjustment) -> None:
    sub(el, "indicador", adjustment.indicador)
    sub(el, "tipoDebitoCredito", adjustment.tipo)
    sub(el, "descricaoDbCr", clip(adjustment.descricao, 40))
    sub(el, "valorDbCr", money(adjustment.valor))


# --- demonstrativo de pagamento odontológico (cto_demonstrativoOdontologia) -------------------

# Franquia (the part of a procedure the beneficiary pays the dentist, which the operator deducts)
# is neither kept from the guides nor part of the operator's analysis: the released values were
# decided without one. Every valorFranquia is therefore 0.00, nothing deducted beyond the glosas.
FRANQUIA = ZERO
# Each level's five values, in the schema's order: informed, processed, glosa, franquia, released.
_VALUES = ("valor_informado", "valor_processado", "valor_glosa", None, "valor_pago")


def cnpj_fits(cnpj: str, version: str) -> bool:
    """Whether st_CNPJ of `version` accepts this CNPJ (an alphanumeric one only from 4.03.00)."""
    return cnpj.isdigit() or version >= ALPHANUMERIC_CNPJ_SINCE


def processing_period(payments: list[PaymentView]) -> tuple[date, date]:
    """periodoProc: from the receipt of the first protocol paid to the last analysis of one (a
    protocol paid without a recorded analysis counts by its payment date): when the operator
    processed the guides the statement pays, as far as the gateway records it."""
    protocols = [(p, pr) for p in payments for pr in p.protocols]
    start = min(pr.data_protocolo for _, pr in protocols)
    end = max(pr.data_analise or p.data_pagamento for p, pr in protocols)
    return start, max(start, end)


def demonstrativo_pagamento_odonto(
    header: AnswerHeader, parties: StatementParties, numero: str, payments: list[PaymentView]
) -> etree._Element:
    """cto_demonstrativoOdontologia: one dadosPagamentoPorData per payment, with its protocols,
    each guide and each procedure with its values and glosa codes, the totals per protocol and
    per date, the debits and credits, and the net amount."""
    root = new_message("demonstrativoRetornoWS", header)
    demo = sub(sub(root, "demonstrativoRetorno"), "demonstrativoPagamentoOdonto")
    cab = sub(demo, "cabecalhoDemonstrativoOdonto")
    sub(cab, "registroANS", parties.registro_ans)
    sub(cab, "numeroDemonstrativo", numero)
    sub(cab, "nomeOperadora", clip(parties.nome_operadora, 70))
    sub(cab, "cnpjOper", parties.cnpj_operadora)
    start, end = processing_period(payments)
    periodo = sub(cab, "periodoProc")
    sub(periodo, "datainicio", start.isoformat())
    sub(periodo, "datafim", end.isoformat())
    prestador = sub(demo, "dadosPrestador")
    sub(prestador, "codigoPrestador", parties.codigo_prestador)
    documento = sub(prestador, "cpfCNPJContratado")
    if parties.cnpj_prestador:
        sub(documento, "cnpjPrestador", parties.cnpj_prestador)
    else:
        sub(documento, "cpfContratado", parties.cpf_prestador)
    # TISS 4 took the executing dentist's name out of the guiaOdonto (nomeProfExec), so the
    # gateway never receives it; the contracted provider, who billed the guide and is paid for
    # it, is the executante the gateway knows.
    executante = clip(parties.nome_prestador or parties.codigo_prestador, 70)
    for payment in payments:
        _pagamento_odonto(sub(demo, "dadosPagamentoPorData"), payment, executante)
    _values(
        sub(demo, "totaisBrutoDemonstrativo"),
        (
            "valorInformadoPorDemonstrativoData",
            "valorlProcessadoPorDemonstrativo",
            "valorlGlosaPorDemonstrativo",
            "valoFranquiaPorDemonstrativo",
            "valorLiberadoPorDemonstrativo",
        ),
        lambda attr: _sum(payments, attr),
    )
    adjustments = [a for p in payments for a in p.adjustments]
    if adjustments:
        box = sub(demo, "debCredDemonstrativo")
        for adjustment in adjustments:
            _desconto(sub(box, "descontos"), adjustment)
    sub(
        demo,
        "totalDebitosDemonstativo",
        money(sum((p.adjustments_total(DEBIT) for p in payments), ZERO)),
    )
    sub(
        demo,
        "totalCreditosDemonstrativo",
        money(sum((p.adjustments_total(CREDIT) for p in payments), ZERO)),
    )
    sub(demo, "valorRecebidoDemonstrativo", money(sum((p.liquido for p in payments), ZERO)))
    return seal(root)


def _values(el: etree._Element, names: tuple[str, ...], total: Callable[[str], Decimal]) -> None:
    for name, attr in zip(names, _VALUES, strict=True):
        sub(el, name, money(total(attr) if attr else FRANQUIA))


def _pagamento_odonto(el: etree._Element, payment: PaymentView, executante: str) -> None:
    dados = sub(el, "dadosPagamento")
    sub(dados, "dataPagamento", payment.data_pagamento.isoformat())
    for name, value in (
        ("banco", payment.banco),
        ("agencia", payment.agencia),
        ("conta", payment.conta),
    ):
        if value:
            sub(dados, name, value)
    for protocol in payment.protocols:
        box = sub(el, "protocolos")
        sub(box, "numeroLote", protocol.numero_lote)
        sub(box, "numeroProtocolo", protocol.numero)
        for guide in protocol.guides:
            _guia_odonto(sub(box, "dadosPagamentoGuia"), guide, executante, protocol)
        _values(
            sub(box, "totaisPorProtocolo"),
            (
                "valorTotalInformadoPorProtocolo",
                "valorTotalProcessadoPorProtocolo",
                "valorTotalGlosaPorProtocolo",
                "valorTotalFranquiaPorProtocolo",
                "valorTotalLiberadoPorProtocolo",
            ),
            protocol.total,
        )
    _values(
        sub(el, "totaisPorData"),
        (
            "valorBrutonformadoPorData",
            "valorBrutoProcessadoPorData",
            "valorBrutoGlosaPorData",
            "valorBrutoFranquiaPorData",
            "valorBrutoLiberadoPorData",
        ),
        payment.total,
    )
    _adjustments_and_net(
        el,
        payment,
        ("debCredPorDataPagamento", "descontos"),
        (
            "totalLiquidoPorData",
            "valorTotalDebitosPorData",
            "valorTotalCreditosPorData",
            "valorFinalAReceberPorData",
        ),
    )


def _guia_odonto(
    el: etree._Element, guide: PaidGuide, executante: str, protocol: PaidProtocol
) -> None:
    sub(el, "numeroGuiaPrestador", guide.numero_guia_prestador)
    if guide.numero_guia_operadora:
        sub(el, "numeroGuiaOperadora", guide.numero_guia_operadora)
    sub(el, "recurso", "N")  # payments of appeals (recurso de glosa) are not modelled
    sub(el, "nomeExecutante", executante)
    sub(el, "carteiraBeneficiario", guide.numero_carteira)
    for item in guide.items:
        _procedimento_odonto(sub(el, "dadosPagamento"), item, protocol.data_protocolo)
    if guide.glosas:
        # The statement has glosa codes only per procedure; those on the guide as a whole go
        # where the provider reads them, the guide's observation.
        sub(el, "observacaoGuia", clip(_glosas_text(guide.glosas), 500))
    _values(
        el,
        (
            "valorTotalInformadoGuia",
            "valorTotalProcessadoGuia",
            "valorTotalGlosaGuia",
            "valorTotalFranquiaGuia",
            "valorTotalLiberadoGuia",
        ),
        lambda attr: getattr(guide, attr),
    )


def _glosas_text(glosas: tuple[GlosaView, ...]) -> str:
    listed = "; ".join(
        f"{g.code} - {g.descricao or describe(g.code)} ({money(g.valor)})" for g in glosas
    )
    return f"Glosas na guia: {listed}"


def _procedimento_odonto(el: etree._Element, item: ItemView, received: date) -> None:
    sub(el, "sequencialItem", str(item.sequencial))
    proc = sub(el, "procedimento")
    sub(proc, "codigoTabela", item.codigo_tabela)
    sub(proc, "codigoProcedimento", item.codigo_procedimento)
    sub(proc, "descricaoProcedimento", clip(item.descricao, 150))
    # denteRegiao and denteFace are optional and the gateway does not record them: left out.
    sub(el, "dataRealizacao", item.data_realizacao or received.isoformat())
    # The guiaOdonto sends qtdProc as st_numerico2 too, so the stored quantity is a whole number.
    sub(el, "qtdProc", str(int(item.quantidade)))
    # An item never analysed (paid by a value the operator gave the guide) is taken as the
    # analysis defaults take it: processed as informed, released as processed.
    processado = (
        item.valor_processado if item.valor_processado is not None else item.valor_informado
    )
    liberado = item.valor_liberado if item.valor_liberado is not None else processado
    sub(el, "valorInformado", money(item.valor_informado))
    sub(el, "valorProcessado", money(processado))
    sub(el, "valorGlosaEstorno", money(processado - liberado))
    sub(el, "valorFranquia", money(FRANQUIA))
    # st_decimal7-2 here, narrower than the other values: a single dental procedure released
    # above 99999.99 cannot be written in this statement at all.
    sub(el, "valorLiberado", money(liberado))
    for code in dict.fromkeys(g.code for g in item.glosas):
        sub(el, "codigosGlosa", code)


@dataclass(frozen=True)
class Pending:
    """Nothing to show yet: situacaoDemonstrativoRetorno."""

    codigo_prestador: str
    numero_protocolo: str
    protocolo_solicitacao: str
    tipo: str
    data: date
    situacao: int


def situacao_demonstrativo(
    header: AnswerHeader, registro_ans: str, pending: Pending
) -> etree._Element:
    root = new_message("demonstrativoRetornoWS", header)
    situacao = sub(sub(root, "demonstrativoRetorno"), "situacaoDemonstrativoRetorno")
    sub(situacao, "identificacaoOperadora", registro_ans)
    contratado_dados(situacao, "dadosPrestador", pending.codigo_prestador)
    sub(situacao, "numeroProtocolo", pending.numero_protocolo)
    sub(situacao, "protocoloSolicitacaoDemonstrativo", pending.protocolo_solicitacao)
    sub(situacao, "tipoDemonstrativo", pending.tipo)
    sub(situacao, "dataSituacaoDemonstrativo", pending.data.isoformat())
    sub(situacao, "situacaoDemonstrativo", str(pending.situacao))
    return seal(root)


def demonstrativo_erro(header: AnswerHeader, code: str, description: str) -> etree._Element:
    root = new_message("demonstrativoRetornoWS", header)
    motivo_glosa(sub(root, "demonstrativoRetorno"), "mensagemErro", code, description)
    return seal(root)
