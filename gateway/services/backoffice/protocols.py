"""A protocol as the back office sees it, and the use cases that read it or move its status."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from gateway.services.backoffice import transitions
from gateway.services.backoffice.errors import BackOfficeError, not_allowed, not_found
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.backoffice.values import text
from gateway.services.protocol_numbers import as_issued
from gateway.services.views import guide_views
from gateway.tiss.views import ZERO, GuideView
from storage.db import Database
from storage.models import Protocol, Provider

REASON_MAX = 500


@dataclass(frozen=True)
class StatusChangeView:
    status: int
    changed_at: datetime
    actor: str
    reason: str | None


@dataclass(frozen=True)
class ProtocolView:
    numero: str
    status: int
    provider_code: str
    numero_lote: str
    guide_type: str
    received_at: datetime
    updated_at: datetime
    analyzed_at: datetime | None
    valor_informado: Decimal
    valor_processado: Decimal | None  # None until analysed
    valor_liberado: Decimal | None
    valor_glosa: Decimal  # every glosa, on guides and on items
    history: tuple[StatusChangeView, ...]
    guides: tuple[GuideView, ...]

    @property
    def status_name(self) -> str:
        return transitions.describe(self.status)


def find_protocol(session: Session, numero: str, *, lock: bool = False) -> Protocol:
    """The protocol numbered `numero`; `lock` takes its row for the rest of the transaction so
    that two staff members cannot move the same protocol at once."""
    query = select(Protocol).where(Protocol.numero == as_issued(numero))
    if lock:
        query = query.with_for_update()
    protocol = session.scalar(query)
    if protocol is None:
        raise not_found(f"protocolo {numero.strip()} não encontrado")
    return protocol


def protocol_view(session: Session, protocol_id: int) -> ProtocolView:
    """Read back from the database (not from objects changed in this session), so the view
    shows exactly what was stored."""
    session.flush()
    session.expire_all()
    protocol = session.scalar(
        select(Protocol)
        .where(Protocol.id == protocol_id)
        .options(selectinload(Protocol.history), joinedload(Protocol.lot))
    )
    provider_code = session.scalar(
        select(Provider.codigo_na_operadora).where(Provider.id == protocol.provider_id)
    )
    lot = protocol.lot
    guides = guide_views(session, lot.id, protocol.id)
    analysed = all(g.analyzed for g in guides)
    return ProtocolView(
        numero=protocol.numero,
        status=protocol.status,
        provider_code=provider_code,
        numero_lote=lot.numero_lote,
        guide_type=lot.guide_type,
        received_at=lot.received_at,
        updated_at=protocol.updated_at,
        analyzed_at=protocol.analyzed_at,
        valor_informado=lot.total_value,
        valor_processado=sum((g.processado for g in guides), ZERO) if analysed else None,
        valor_liberado=sum((g.liberado for g in guides), ZERO) if analysed else None,
        valor_glosa=sum((gl.valor for g in guides for gl in g.all_glosas), ZERO),
        history=tuple(
            StatusChangeView(h.status, h.changed_at, h.actor, h.reason) for h in protocol.history
        ),
        guides=guides,
    )


def get_protocol(db: Database, numero: str) -> ProtocolView:
    with db.reading() as session:
        return protocol_view(session, find_protocol(session, numero).id)


def change_status(
    db: Database,
    staff: StaffPrincipal,
    numero: str,
    new_status: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> ProtocolView:
    """Move a protocol along one allowed transition, with the reason in its history."""
    now = now or datetime.now(UTC)
    reason = text(reason, "motivo", REASON_MAX)
    transitions.check_status_value(new_status)
    if new_status in transitions.REASON_REQUIRED and reason is None:
        raise BackOfficeError(
            f"informe o motivo para mover o protocolo para {transitions.label(new_status)}"
        )
    with db.transaction() as session:
        protocol = find_protocol(session, numero, lock=True)
        transitions.check_allowed(protocol, new_status)
        if new_status == transitions.PAGO:
            raise not_allowed(
                f"protocolo {protocol.numero}: o pagamento efetuado (6) é registrado com "
                "registrarPagamento, que grava a data, a competência e os valores pagos"
            )
        if new_status in transitions.NEEDS_ANALYSIS and protocol.analyzed_at is None:
            raise not_allowed(
                f"protocolo {protocol.numero}: registre a análise (registrarAnalise) antes de "
                f"movê-lo para {transitions.label(new_status)}"
            )
        transitions.transition(protocol, new_status, staff.login, reason, now)
        return protocol_view(session, protocol.id)
