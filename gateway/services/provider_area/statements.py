"""Demonstrativos in the portal: payment statements (médico or odontológico, by payment date or
by competência) and the account-analysis statement of one protocol. The data is read by the very
functions tissSolicitacaoDemonstrativoRetorno answers from (services.statements), so the PDF
carries the same payments, guides, glosas and totals as the web-service answer."""

from dataclasses import dataclass
from datetime import date

from gateway.services.gateway import Gateway
from gateway.services.statements import (
    analysed_protocols,
    analysis_statement_number,
    find_payments,
    odonto_statement_number,
    payment_view,
    statement_number,
    statement_parties,
)
from gateway.services.views import protocol_view
from gateway.tiss.domains import status_label
from gateway.tiss.statements import PaymentView, StatementParties
from gateway.tiss.views import ProtocolView
from storage.models import Provider

MEDICO = "medico"
ODONTO = "odonto"
KINDS = {MEDICO: "Assistência Médica", ODONTO: "Assistência Odontológica"}


@dataclass(frozen=True)
class PaymentStatement:
    parties: StatementParties
    provider_name: str
    numero: str
    kind: str  # medico | odonto
    period: str  # as the person asked: "pagamento em 30/11/2026" or "competência 11/2026"
    payments: tuple[PaymentView, ...]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def payment_statement(
    gw: Gateway,
    provider_id: int,
    kind: str,
    *,
    data_pagamento: date | None = None,
    competencia: str | None = None,
) -> PaymentStatement | None:
    """The provider's payments of that date or competência (AAAAMM); None when there are none
    (the web service answers situacaoDemonstrativoRetorno then)."""
    if (data_pagamento is None) == (competencia is None) or kind not in KINDS:
        raise ValueError("one of data_pagamento or competencia, and a known kind")
    with gw.db.reading() as session:
        payments = find_payments(
            session, provider_id, data_pagamento, competencia, odonto=kind == ODONTO
        )
        if not payments:
            return None
        provider = session.get(Provider, provider_id)
        today = gw.local(gw.utcnow()).date()
        period = (
            f"pagamento em {data_pagamento:%d/%m/%Y}"
            if data_pagamento
            else f"competência {competencia[4:]}/{competencia[:4]}"
        )
        return PaymentStatement(
            parties=statement_parties(gw, session, provider, today),
            provider_name=provider.name,
            numero=(
                odonto_statement_number(data_pagamento, competencia)
                if kind == ODONTO
                else statement_number(data_pagamento, competencia, provider_id)
            ),
            kind=kind,
            period=period,
            payments=tuple(payment_view(gw, p) for p in payments),
        )


@dataclass(frozen=True)
class AnalysisStatement:
    parties: StatementParties
    provider_name: str
    numero: str
    view: ProtocolView


@dataclass(frozen=True)
class NotAnalysedYet:
    """The protocol exists but the operator has not analysed it (situacaoDemonstrativoRetorno)."""

    numero: str
    status: int

    @property
    def status_label(self) -> str:
        return status_label(self.status)


def analysis_statement(
    gw: Gateway, provider_id: int, numero: str
) -> AnalysisStatement | NotAnalysedYet | None:
    """The account analysis of one of the provider's protocols; None when it is not the
    provider's (or does not exist)."""
    numero = (numero or "").strip()
    if not numero or len(numero) > 12:
        return None
    with gw.db.reading() as session:
        found, analysed = analysed_protocols(session, provider_id, [numero])
        if not found:
            return None
        if not analysed:
            return NotAnalysedYet(found[0].numero, found[0].status)
        protocol = analysed[0]
        provider = session.get(Provider, provider_id)
        return AnalysisStatement(
            parties=statement_parties(gw, session, provider, gw.local(gw.utcnow()).date()),
            provider_name=provider.name,
            numero=analysis_statement_number(protocol.numero),
            view=protocol_view(gw, session, protocol),
        )
