"""Use case: answer a statement request (tissSolicitacaoDemonstrativoRetorno): the account
analysis of up to 30 protocols, or the payments (médicos or odontológicos) of a date or
competência. Only the requesting provider's own protocols and payments are ever read."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from lxml import etree
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from gateway.services.answers import Answer
from gateway.services.backoffice import transitions
from gateway.services.gateway import Gateway
from gateway.services.inbound import Inbound, Principal, ServiceSpec
from gateway.services.pipeline import Exchange, run_service
from gateway.services.senders import ProviderRef
from gateway.services.views import find_protocol, guide_view, protocol_view
from gateway.tiss import codes
from gateway.tiss import statements as tiss_statements
from gateway.tiss.dates import DateOutOfRange
from gateway.tiss.lote import ODONTO
from gateway.tiss.requests import InvalidCompetencia, StatementRequest, statement_request
from gateway.tiss.statements import (
    KIND_ANALYSIS,
    KIND_PAYMENT,
    KIND_PAYMENT_ODONTO,
    Adjustment,
    PaidGuide,
    PaidProtocol,
    PaymentView,
    Pending,
    StatementParties,
    cnpj_fits,
)
from storage import models

DEMONSTRATIVO_RETORNO = ServiceSpec(
    name="tissSolicitacaoDemonstrativoRetorno",
    request_root="solicitacaoDemonstrativoRetornoWS",
    tipo_transacao="SOLIC_DEMONSTRATIVO_RETORNO",
    response_root="demonstrativoRetornoWS",
    response_tipo="DEMONSTRATIVO_PAGAMENTO",
)
TIPO_ANALISE = "DEMONSTRATIVO_ANALISE_CONTA"
TIPO_PAGAMENTO = "DEMONSTRATIVO_PAGAMENTO"
TIPO_ODONTOLOGIA = "DEMONSTRATIVO_ODONTOLOGIA"
# The states of a protocol that may still be paid; 4 (Encerrado sem pagamento), 6 (Pagamento
# efetuado) and 9 (Cancelado) are final.
AWAITING_PAYMENT = (
    transitions.RECEBIDO,
    transitions.EM_ANALISE,
    transitions.LIBERADO,
    transitions.ANALISADO,
    transitions.AGUARDANDO_INFORMACAO,
)


def answer_statement(
    gw: Gateway, inbound: Inbound, message: etree._Element, principal: Principal | None = None
) -> Answer:
    return run_service(gw, DEMONSTRATIVO_RETORNO, inbound, message, _handle, principal=principal)


def _handle(ex: Exchange) -> Answer:
    try:
        request = statement_request(ex.message)
    except DateOutOfRange as exc:
        return _refuse_period(ex, codes.DATE_INVALID, str(exc))
    except InvalidCompetencia as exc:
        return _refuse_period(ex, codes.COMPETENCIA_INVALID, str(exc))
    ex.require_own(request.prestador)
    if request.kind == "analise":
        return _analysis(ex, request)
    return _payment(ex, request)


def _refuse_period(ex: Exchange, code: str, reason: str) -> Answer:
    """A period the schema let through but no one can have meant: mensagemErro with its code."""
    return ex.reply(
        lambda h: tiss_statements.demonstrativo_erro(h, code, reason),
        codes=[code],
        detail=reason,
    )


def _cnpj_refusal(
    ex: Exchange, parties: StatementParties, tipo: str, *, provider_too: bool = False
) -> Answer | None:
    """Every statement carries the operator's CNPJ, and the odontológico one the provider's too;
    st_CNPJ has no letters before 4.03.00, so with an alphanumeric one no valid statement can be
    written in an older version: mensagemErro 5001, saying which version to ask in."""
    version = ex.facts.version
    whose = [("da operadora", parties.cnpj_operadora)]
    if provider_too:
        whose.append(("do prestador", parties.cnpj_prestador))
    for owner, cnpj in whose:
        if cnpj and not cnpj_fits(cnpj, version):
            description = (
                f"CNPJ alfanumérico {owner} não cabe no demonstrativo da versão {version}; "
                f"solicite-o na versão {tiss_statements.ALPHANUMERIC_CNPJ_SINCE}"
            )
            return ex.reply(
                lambda h, d=description: tiss_statements.demonstrativo_erro(
                    h, codes.MESSAGE_OUT_OF_STANDARD, d
                ),
                codes=[codes.MESSAGE_OUT_OF_STANDARD],
                detail=description,
                tipo=tipo,
            )
    return None


def _parties(ex: Exchange) -> StatementParties:
    return statement_parties(ex.gw, ex.session, ex.provider, ex.gw.local(ex.received_at).date())


def statement_parties(
    gw: Gateway, session: Session, provider: ProviderRef | models.Provider, today: date
) -> StatementParties:
    """Who issues a statement and to whom: the same for the web service and the portal."""
    operator = session.scalar(select(models.Operator).limit(1))
    return StatementParties(
        registro_ans=gw.registro_ans(),
        nome_operadora=operator.name if operator else "OPERADORA",
        cnpj_operadora=(operator.cnpj if operator and operator.cnpj else "00000000000000"),
        codigo_prestador=provider.codigo_na_operadora,
        cnes=provider.cnes,
        data_emissao=today,
        nome_prestador=provider.name,
        cnpj_prestador=provider.cnpj,
        cpf_prestador=provider.cpf,
    )


def analysis_statement_number(protocol_numero: str) -> str:
    """Stable per protocol, so the provider's copies of the same statement match."""
    return f"AC{protocol_numero}"


def analysed_protocols(
    session: Session, provider_id: int, numeros: Iterable[str]
) -> tuple[list[models.Protocol], list[models.Protocol]]:
    """The provider's own protocols among `numeros` (others' are left out as if they did not
    exist), and those of them the operator has analysed."""
    found = [find_protocol(session, provider_id, n) for n in dict.fromkeys(numeros)]
    found = [p for p in found if p is not None]
    return found, [p for p in found if p.analyzed_at is not None]


def _analysis(ex: Exchange, request: StatementRequest) -> Answer:
    found, analysed = analysed_protocols(ex.session, ex.provider.id, request.protocolos)
    if analysed:
        parties = _parties(ex)
        if refusal := _cnpj_refusal(ex, parties, TIPO_ANALISE):
            return refusal
        statements = [
            (analysis_statement_number(p.numero), protocol_view(ex.gw, ex.session, p))
            for p in analysed
        ]
        return ex.reply(
            lambda h: tiss_statements.demonstrativo_analise(h, parties, statements),
            tipo=TIPO_ANALISE,
        )
    if found:
        first = found[0]
        return _pending(ex, KIND_ANALYSIS, first.numero, first.status, TIPO_ANALISE)
    not_found = ex.glosa_code(codes.PROTOCOL_NOT_FOUND, codes.IDENTIFIER_UNKNOWN)
    return ex.reply(
        lambda h: tiss_statements.demonstrativo_erro(h, not_found, codes.describe(not_found)),
        codes=[not_found],
        tipo=TIPO_ANALISE,
    )


def _pending(ex: Exchange, kind: str, numero: str, status: int, tipo: str) -> Answer:
    def build(header):
        pending = Pending(
            codigo_prestador=ex.provider.codigo_na_operadora,
            numero_protocolo=numero,
            protocolo_solicitacao=header.sequencial,
            tipo=kind,
            data=ex.gw.local(ex.received_at).date(),
            situacao=status,
        )
        return tiss_statements.situacao_demonstrativo(header, ex.gw.registro_ans(), pending)

    return ex.reply(build, tipo=tipo)


def payment_statement_number(request: StatementRequest, provider_id: int) -> str:
    return statement_number(request.data_pagamento, request.competencia, provider_id)


def statement_number(data_pagamento: date | None, competencia: str | None, provider_id: int) -> str:
    """Stable per provider and period: the web service and the portal print the same number."""
    return f"PG{_period(data_pagamento, competencia)}-{provider_id}"[:20]


def odonto_statement_number(data_pagamento: date | None, competencia: str | None) -> str:
    """The odontológico statement's number is st_texto12, with no room for the period and the
    provider's id as the médico one has them (PG20261130-42): it is the period alone, stable per
    provider and period as that one is, and unique among the statements of the provider the
    statement names (codigoPrestador)."""
    return f"PO{_period(data_pagamento, competencia)}"


def _period(data_pagamento: date | None, competencia: str | None) -> str:
    return data_pagamento.strftime("%Y%m%d") if data_pagamento else competencia


def _period_reference(request: StatementRequest, kind: str) -> str:
    """What situacaoDemonstrativoRetorno's numeroProtocolo (st_texto12, required) names when a
    payment statement is not there: no protocol is asked about, so the period asked, prefixed as
    its statement's number is (PG20261130, PO202611; the odontológico one is that number).
    Letters keep it from being read as a lot's protocol, as the answer's own sequencialTransacao
    could be (42 is protocol 000000000042 to a system that keeps protocols as numbers); that
    number is still in protocoloSolicitacaoDemonstrativo."""
    prefix = "PO" if kind == KIND_PAYMENT_ODONTO else "PG"
    return f"{prefix}{_period(request.data_pagamento, request.competencia)}"


def _nothing_paid(ex: Exchange, request: StatementRequest, kind: str, tipo: str) -> Answer:
    """No payment of that period: 7 (Não localizado) once the period is over in Brazil and
    nothing of the provider can still be paid, so its system stops asking; else 2 (Em análise),
    as a payment may still come."""
    today = ex.gw.local(ex.received_at).date()
    over = request.last_day() < today
    status = (
        transitions.NAO_LOCALIZADO
        if over and not _awaiting_payment(ex.session, ex.provider.id)
        else transitions.EM_ANALISE
    )
    return _pending(ex, kind, _period_reference(request, kind), status, tipo)


def _awaiting_payment(session: Session, provider_id: int) -> bool:
    """Whether any protocol of the provider is still on its way to a payment. Not only those of
    the period: the operator records a payment with the date and competência it chooses."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    models.Protocol.provider_id == provider_id,
                    models.Protocol.status.in_(AWAITING_PAYMENT),
                )
            )
        )
    )


def _payment(ex: Exchange, request: StatementRequest) -> Answer:
    if request.tipo_demonstrativo == KIND_PAYMENT_ODONTO:
        return _payment_odonto(ex, request)
    payments = find_payments(
        ex.session, ex.provider.id, request.data_pagamento, request.competencia
    )
    if not payments:
        return _nothing_paid(ex, request, KIND_PAYMENT, TIPO_PAGAMENTO)
    parties = _parties(ex)
    if refusal := _cnpj_refusal(ex, parties, TIPO_PAGAMENTO):
        return refusal
    views = [payment_view(ex.gw, p) for p in payments]
    numero = payment_statement_number(request, ex.provider.id)
    return ex.reply(
        lambda h: tiss_statements.demonstrativo_pagamento(h, parties, numero, views),
        tipo=TIPO_PAGAMENTO,
    )


def _payment_odonto(ex: Exchange, request: StatementRequest) -> Answer:
    payments = find_payments(
        ex.session, ex.provider.id, request.data_pagamento, request.competencia, odonto=True
    )
    if not payments:
        return _nothing_paid(ex, request, KIND_PAYMENT_ODONTO, TIPO_ODONTOLOGIA)
    parties = _parties(ex)
    if refusal := _cnpj_refusal(ex, parties, TIPO_ODONTOLOGIA, provider_too=True):
        return refusal
    views = [payment_view(ex.gw, p, procedures=True) for p in payments]
    numero = odonto_statement_number(request.data_pagamento, request.competencia)
    return ex.reply(
        lambda h: tiss_statements.demonstrativo_pagamento_odonto(h, parties, numero, views),
        tipo=TIPO_ODONTOLOGIA,
    )


def find_payments(
    session: Session,
    provider_id: int,
    data_pagamento: date | None,
    competencia: str | None,
    *,
    odonto: bool = False,
) -> list[models.Payment]:
    """The provider's payments on a date or for a competência (AAAAMM), médicos or, with
    `odonto`, odontológicos (a payment is odontológico when every guide it pays is a guiaOdonto),
    then with each guide's procedures and glosas, which the odontológico statement lists."""
    guide = selectinload(models.Payment.lines).selectinload(models.PaymentLine.guide)
    procedures = (
        (guide.selectinload(models.Guide.items), guide.selectinload(models.Guide.glosas))
        if odonto
        else ()
    )
    query = (
        select(models.Payment)
        .where(models.Payment.provider_id == provider_id)
        .options(
            selectinload(models.Payment.lines).selectinload(models.PaymentLine.guide),
            selectinload(models.Payment.lines)
            .selectinload(models.PaymentLine.protocol)
            .selectinload(models.Protocol.lot),
            selectinload(models.Payment.adjustments),
            *procedures,
        )
        .order_by(models.Payment.data_pagamento, models.Payment.id)
    )
    conditions = []
    if data_pagamento is not None:
        conditions.append(models.Payment.data_pagamento == data_pagamento)
    if competencia is not None:
        conditions.append(models.Payment.competencia == competencia)
    if not conditions:
        return []
    payments = session.scalars(query.where(or_(*conditions))).all()
    return [p for p in payments if is_odonto(p) == odonto]


def is_odonto(payment: models.Payment) -> bool:
    return bool(payment.lines) and all(line.guide.guide_type == ODONTO for line in payment.lines)


def payment_view(gw: Gateway, payment: models.Payment, *, procedures: bool = False) -> PaymentView:
    """The payment as the statements show it; with `procedures`, each guide's card, procedures
    and glosas too (read by find_payments with `odonto`)."""
    by_protocol: dict[int, list[models.PaymentLine]] = defaultdict(list)
    for line in payment.lines:
        by_protocol[line.protocol_id].append(line)
    protocols = []
    for lines in by_protocol.values():
        protocol = lines[0].protocol
        protocols.append(
            PaidProtocol(
                numero=protocol.numero,
                numero_lote=protocol.lot.numero_lote,
                data_protocolo=gw.local(protocol.lot.received_at).date(),
                guides=tuple(_paid_guide(line, procedures) for line in lines),
                data_analise=(
                    gw.local(protocol.analyzed_at).date() if protocol.analyzed_at else None
                ),
            )
        )
    return PaymentView(
        numero=str(payment.id),
        data_pagamento=payment.data_pagamento,
        forma_pagamento=payment.forma_pagamento,
        banco=payment.banco,
        agencia=payment.agencia,
        conta=payment.conta,
        protocols=tuple(protocols),
        adjustments=tuple(
            Adjustment(a.indicador, a.tipo, a.descricao, a.valor) for a in payment.adjustments
        ),
    )


def _paid_guide(line: models.PaymentLine, procedures: bool) -> PaidGuide:
    guide = line.guide
    processado = (
        guide.valor_processado if guide.valor_processado is not None else guide.valor_informado
    )
    liberado = guide.valor_liberado if guide.valor_liberado is not None else processado
    return PaidGuide(
        numero_guia_prestador=guide.numero_guia_prestador,
        numero_guia_operadora=guide.numero_guia_operadora,
        valor_informado=guide.valor_informado,
        valor_processado=processado,
        valor_glosa=processado - liberado,
        valor_pago=line.valor_pago,
        **(_procedures(guide) if procedures else {}),
    )


def _procedures(guide: models.Guide) -> dict:
    """The guide's card, its items with their glosas, and the glosas on the guide as a whole."""
    view = guide_view(guide)
    return {"numero_carteira": view.numero_carteira, "items": view.items, "glosas": view.glosas}
