"""A provider's protocols as the portal shows them: Status do Protocolo, Capa de Lote and the
protocol reports (analítico, sintético). The status comes from services.views, the module the
tissSolicitacaoStatusProtocolo answer reads too (the same guide rows, glosas and view
dataclasses; the page also lists items), so the page and the web service never disagree; a
protocol of another provider is not found, exactly like one that does not exist."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from gateway.services.backoffice.transitions import REASON_REQUIRED
from gateway.services.gateway import Gateway
from gateway.services.provider_area.paging import PAGE_SIZE, Page, offset
from gateway.services.views import find_protocol, protocol_view
from gateway.tiss.domains import guide_type_label, status_label
from gateway.tiss.views import ProtocolView
from storage.db import Database
from storage.models import Lot, Operator, Protocol, Provider

NOT_FOUND = "Protocolo inexistente"


@dataclass(frozen=True)
class StatusStep:
    when: datetime
    status: int
    reason: str | None  # only where the provider is owed one (4, 8, 9)

    @property
    def label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True)
class ProtocolSummary:
    """Everything the status page, the capa de lote and the reports print about a protocol."""

    view: ProtocolView
    received_at: datetime
    guide_type: str
    analyzed: bool
    provider_name: str
    provider_document: str | None
    operator_name: str
    registro_ans: str | None
    history: tuple[StatusStep, ...]

    @property
    def numero(self) -> str:
        return self.view.numero

    @property
    def status_label(self) -> str:
        return status_label(self.view.status)

    @property
    def guide_type_label(self) -> str:
        return guide_type_label(self.guide_type)

    @property
    def guide_count(self) -> int:
        return len(self.view.guides)


def protocol_summary(gw: Gateway, provider_id: int, numero: str) -> ProtocolSummary | None:
    """The provider's protocol `numero`, or None (unknown, or another provider's: alike)."""
    numero = (numero or "").strip()
    if not numero or len(numero) > 12:
        return None
    with gw.db.reading() as session:
        protocol = find_protocol(session, provider_id, numero)
        if protocol is None:
            return None
        provider = session.get(Provider, provider_id)
        operator = session.scalar(select(Operator).limit(1))
        return ProtocolSummary(
            view=protocol_view(gw, session, protocol),
            received_at=protocol.lot.received_at,
            guide_type=protocol.lot.guide_type,
            analyzed=protocol.analyzed_at is not None,
            provider_name=provider.name,
            provider_document=provider.cnpj or provider.cpf,
            operator_name=operator.name if operator else "Operadora",
            registro_ans=gw.registro_ans(),
            history=tuple(
                StatusStep(
                    change.changed_at,
                    change.status,
                    change.reason if change.status in REASON_REQUIRED else None,
                )
                for change in protocol.history
            ),
        )


@dataclass(frozen=True)
class ProtocolRow:
    numero: str
    status: int
    numero_lote: str
    guide_type: str
    guide_count: int
    total_value: Decimal
    received_at: datetime
    analyzed: bool

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def guide_type_label(self) -> str:
        return guide_type_label(self.guide_type)


def list_protocols(
    db: Database, provider_id: int, number: int, *, analyzed_only: bool = False
) -> Page:
    """One page of the provider's protocols, newest first."""
    conditions = [Protocol.provider_id == provider_id]
    if analyzed_only:
        conditions.append(Protocol.analyzed_at.is_not(None))
    with db.reading() as session:
        total = session.scalar(select(func.count()).select_from(Protocol).where(*conditions))
        rows = session.execute(
            select(Protocol, Lot)
            .join(Lot, Lot.id == Protocol.lot_id)
            .where(*conditions)
            .order_by(Protocol.id.desc())
            .offset(offset(number))
            .limit(PAGE_SIZE)
        ).all()
        items = tuple(
            ProtocolRow(
                numero=p.numero,
                status=p.status,
                numero_lote=lot.numero_lote,
                guide_type=lot.guide_type,
                guide_count=lot.guide_count,
                total_value=lot.total_value,
                received_at=lot.received_at,
                analyzed=p.analyzed_at is not None,
            )
            for p, lot in rows
        )
        return Page(items, number, total or 0)
