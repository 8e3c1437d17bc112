"""Use case: record a payment to a provider, covering the guides of protocols released for
payment (3) or analysed and awaiting release (5). Each paid protocol ends in 6 (Pagamento
efetuado); one in 5 passes through 3 first, so its history only holds allowed transitions."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.services.backoffice import transitions
from gateway.services.backoffice.errors import BackOfficeError, not_allowed, not_found
from gateway.services.backoffice.protocols import find_protocol
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.backoffice.values import money, text
from storage.db import Database
from storage.models import Guide, Payment, PaymentAdjustment, PaymentLine, Protocol, Provider

PAYABLE = frozenset({transitions.LIBERADO, transitions.ANALISADO})
FORMAS = {"1", "2", "3", "4"}  # dm_formaPagamento
DEBITO, CREDITO = "1", "2"  # dm_debitoCreditoIndicador
TIPOS = {f"{n:02d}" for n in range(1, 10)}  # dm_debitoCreditoTipo
# [0-9], not \d (any script's digits); fullmatch, not ^...$ ($ lets a final line break through).
COMPETENCIA = re.compile(r"[0-9]{4}(0[1-9]|1[0-2])")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GuidePayment:
    numero_guia_prestador: str
    valor_pago: Decimal


@dataclass(frozen=True)
class ProtocolPayment:
    numero_protocolo: str
    guides: Sequence[GuidePayment] = ()  # guides left out are paid their valor liberado


@dataclass(frozen=True)
class Adjustment:
    indicador: str  # 1 débito, 2 crédito
    tipo: str  # dm_debitoCreditoTipo 01..09
    descricao: str
    valor: Decimal


@dataclass(frozen=True)
class PaymentInput:
    provider_code: str
    data_pagamento: date
    competencia: str  # AAAAMM
    forma_pagamento: str
    protocols: Sequence[ProtocolPayment]
    adjustments: Sequence[Adjustment] = ()
    banco: str | None = None
    agencia: str | None = None
    conta: str | None = None


@dataclass(frozen=True)
class PaidProtocol:
    numero: str
    status: int
    valor_pago: Decimal


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    provider_code: str
    data_pagamento: date
    competencia: str
    valor_bruto: Decimal
    valor_debitos: Decimal
    valor_creditos: Decimal
    valor_liquido: Decimal
    protocols: tuple[PaidProtocol, ...]


def record_payment(
    db: Database, staff: StaffPrincipal, data: PaymentInput, now: datetime | None = None
) -> PaymentResult:
    now = now or datetime.now(UTC)
    _check_header(data)
    adjustments = [_checked_adjustment(a, n) for n, a in enumerate(data.adjustments, 1)]
    numbers = [p.numero_protocolo.strip() for p in data.protocols]
    if not numbers:
        raise BackOfficeError("informe ao menos um protocolo")
    if len(set(numbers)) != len(numbers):
        raise BackOfficeError("protocolo informado mais de uma vez no mesmo pagamento")
    with db.transaction() as session:
        provider = session.scalar(
            select(Provider).where(Provider.codigo_na_operadora == data.provider_code.strip())
        )
        if provider is None:
            raise not_found(f"prestador {data.provider_code.strip()} não encontrado")
        # Rows locked in one order whatever the request's: two payments naming the same
        # protocols in opposite orders wait for each other instead of deadlocking.
        for numero in sorted(numbers):
            find_protocol(session, numero, lock=True)
        payment = Payment(
            provider_id=provider.id,
            data_pagamento=data.data_pagamento,
            competencia=data.competencia,
            forma_pagamento=data.forma_pagamento,
            banco=text(data.banco, "banco", 4),
            agencia=text(data.agencia, "agência", 7),
            conta=text(data.conta, "conta", 20),
            recorded_at=now,
            actor=staff.login,
        )
        session.add(payment)
        session.flush()
        paid = tuple(
            _pay_protocol(session, staff, payment, provider, item, now) for item in data.protocols
        )
        payment.adjustments = adjustments
        bruto = sum((p.valor_pago for p in paid), ZERO)
        debitos = sum((a.valor for a in adjustments if a.indicador == DEBITO), ZERO)
        creditos = sum((a.valor for a in adjustments if a.indicador == CREDITO), ZERO)
        liquido = bruto - debitos + creditos
        if liquido < 0:
            raise BackOfficeError(
                f"os débitos ({debitos}) superam o valor bruto mais os créditos "
                f"({bruto + creditos}): valor líquido negativo"
            )
        return PaymentResult(
            payment_id=payment.id,
            provider_code=provider.codigo_na_operadora,
            data_pagamento=data.data_pagamento,
            competencia=data.competencia,
            valor_bruto=bruto,
            valor_debitos=debitos,
            valor_creditos=creditos,
            valor_liquido=liquido,
            protocols=paid,
        )


def _check_header(data: PaymentInput) -> None:
    if not COMPETENCIA.fullmatch(data.competencia or ""):
        raise BackOfficeError(f"competência {data.competencia!r} inválida; use AAAAMM")
    if data.forma_pagamento not in FORMAS:
        raise BackOfficeError(
            f"forma de pagamento {data.forma_pagamento!r} inválida (dm_formaPagamento: 1 a 4)"
        )


def _checked_adjustment(adjustment: Adjustment, position: int) -> PaymentAdjustment:
    where = f"débito/crédito {position}"
    if adjustment.indicador not in (DEBITO, CREDITO):
        raise BackOfficeError(f"{where}: indicador deve ser 1 (débito) ou 2 (crédito)")
    if adjustment.tipo not in TIPOS:
        raise BackOfficeError(f"{where}: tipo deve ser de 01 a 09 (dm_debitoCreditoTipo)")
    valor = money(adjustment.valor, where)
    if valor == 0:
        raise BackOfficeError(f"{where}: valor deve ser maior que zero")
    return PaymentAdjustment(
        indicador=adjustment.indicador,
        tipo=adjustment.tipo,
        descricao=text(adjustment.descricao, f"{where}: descrição", 40, required=True),
        valor=valor,
    )


def _pay_protocol(
    session: Session,
    staff: StaffPrincipal,
    payment: Payment,
    provider: Provider,
    item: ProtocolPayment,
    now: datetime,
) -> PaidProtocol:
    protocol = find_protocol(session, item.numero_protocolo, lock=True)
    if protocol.provider_id != provider.id:
        raise BackOfficeError(
            f"protocolo {protocol.numero} não é do prestador {provider.codigo_na_operadora}"
        )
    if protocol.status not in PAYABLE:
        raise not_allowed(
            f"protocolo {protocol.numero} está em {transitions.label(protocol.status)}; só "
            "protocolos em 3 (Liberado para pagamento) ou 5 (Analisado) podem ser pagos"
        )
    given = _given_values(protocol, item.guides)
    total = ZERO
    for guide in protocol.lot.guides:
        valor = given.get(guide.id)
        if valor is None:
            if guide.valor_liberado is None:
                raise not_allowed(
                    f"protocolo {protocol.numero}, guia {guide.numero_guia_prestador}: sem "
                    "valor liberado (análise não registrada); informe o valor pago"
                )
            valor = guide.valor_liberado
        _check_ceiling(protocol, guide, valor)
        session.add(
            PaymentLine(
                payment=payment, protocol_id=protocol.id, guide_id=guide.id, valor_pago=valor
            )
        )
        total += valor
    reason = (
        f"pagamento {payment.id} de {payment.data_pagamento:%d/%m/%Y}, "
        f"competência {payment.competencia[4:]}/{payment.competencia[:4]}"
    )
    if protocol.status == transitions.ANALISADO:
        transitions.transition(protocol, transitions.LIBERADO, staff.login, reason, now)
    transitions.transition(protocol, transitions.PAGO, staff.login, reason, now)
    return PaidProtocol(protocol.numero, protocol.status, total)


def _given_values(protocol: Protocol, guides: Sequence[GuidePayment]) -> dict[int, Decimal]:
    by_number: dict[str, list[Guide]] = {}
    for guide in protocol.lot.guides:
        by_number.setdefault(guide.numero_guia_prestador, []).append(guide)
    given: dict[int, Decimal] = {}
    for line in guides:
        numero = line.numero_guia_prestador.strip()
        found = by_number.get(numero, [])
        if len(found) != 1:
            problem = "não faz parte do" if not found else "aparece mais de uma vez no"
            raise BackOfficeError(f"guia {numero} {problem} protocolo {protocol.numero}")
        if found[0].id in given:
            raise BackOfficeError(
                f"protocolo {protocol.numero}: guia {numero} informada mais de uma vez"
            )
        given[found[0].id] = money(line.valor_pago, f"guia {numero}: valor pago")
    return given


def _check_ceiling(protocol: Protocol, guide: Guide, valor: Decimal) -> None:
    """Never more than released (or, if somehow unanalysed, than informed): interest, fines
    and other additions are credits (debitoCredito), not a larger guide value."""
    ceiling = guide.valor_liberado if guide.valor_liberado is not None else guide.valor_informado
    if valor > ceiling:
        which = "liberado" if guide.valor_liberado is not None else "informado"
        raise BackOfficeError(
            f"protocolo {protocol.numero}, guia {guide.numero_guia_prestador}: valor pago "
            f"{valor} acima do valor {which} {ceiling}"
        )
