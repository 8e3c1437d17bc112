"""A protocol as the back office sees it, and the use cases that read it or move its status."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gateway.services.backoffice import transitions
from gateway.services.backoffice.errors import BackOfficeError, not_allowed, not_found
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.backoffice.values import as_utc, as_utc_or_none, text
from storage.db import Database
from storage.models import Glosa, Guide, Lot, Protocol, Provider

REASON_MAX = 500


@dataclass(frozen=True)
class GlosaView:
    codigo: str
    valor: Decimal
    descricao: str | None


@dataclass(frozen=True)
class ItemView:
    sequencial: int
    codigo_tabela: str
    codigo_procedimento: str
    descricao: str
    quantidade: Decimal
    valor_informado: Decimal
    valor_processado: Decimal | None
    valor_liberado: Decimal | None
    glosas: tuple[GlosaView, ...]


@dataclass(frozen=True)
class GuideView:
    numero_guia_prestador: str
    numero_guia_operadora: str | None
    numero_carteira: str
    valor_informado: Decimal
    valor_processado: Decimal | None
    valor_liberado: Decimal | None
    glosas: tuple[GlosaView, ...]  # on the whole guide
    items: tuple[ItemView, ...]


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
    query = select(Protocol).where(Protocol.numero == numero.strip())
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
        .options(
            selectinload(Protocol.history),
            selectinload(Protocol.lot).selectinload(Lot.guides).selectinload(Guide.items),
            selectinload(Protocol.lot).selectinload(Lot.guides).selectinload(Guide.glosas),
        )
    )
    provider_code = session.scalar(
        select(Provider.codigo_na_operadora).where(Provider.id == protocol.provider_id)
    )
    lot = protocol.lot
    guides = tuple(_guide_view(g) for g in lot.guides)
    analysed = all(g.valor_processado is not None for g in guides)
    return ProtocolView(
        numero=protocol.numero,
        status=protocol.status,
        provider_code=provider_code,
        numero_lote=lot.numero_lote,
        guide_type=lot.guide_type,
        received_at=as_utc(lot.received_at),
        updated_at=as_utc(protocol.updated_at),
        analyzed_at=as_utc_or_none(protocol.analyzed_at),
        valor_informado=lot.total_value,
        valor_processado=sum((g.valor_processado for g in guides), Decimal("0.00"))
        if analysed
        else None,
        valor_liberado=sum((g.valor_liberado for g in guides), Decimal("0.00"))
        if analysed
        else None,
        valor_glosa=sum((gl.valor for g in lot.guides for gl in g.glosas), Decimal("0.00")),
        history=tuple(
            StatusChangeView(h.status, as_utc(h.changed_at), h.actor, h.reason)
            for h in protocol.history
        ),
        guides=guides,
    )


def _glosa_view(glosa: Glosa) -> GlosaView:
    return GlosaView(glosa.codigo, glosa.valor, glosa.descricao)


def _guide_view(guide: Guide) -> GuideView:
    by_item: dict[int | None, list[GlosaView]] = defaultdict(list)
    for glosa in guide.glosas:
        by_item[glosa.item_id].append(_glosa_view(glosa))
    return GuideView(
        numero_guia_prestador=guide.numero_guia_prestador,
        numero_guia_operadora=guide.numero_guia_operadora,
        numero_carteira=guide.numero_carteira,
        valor_informado=guide.valor_informado,
        valor_processado=guide.valor_processado,
        valor_liberado=guide.valor_liberado,
        glosas=tuple(by_item[None]),
        items=tuple(
            ItemView(
                sequencial=i.sequencial,
                codigo_tabela=i.codigo_tabela,
                codigo_procedimento=i.codigo_procedimento,
                descricao=i.descricao,
                quantidade=i.quantidade,
                valor_informado=i.valor_informado,
                valor_processado=i.valor_processado,
                valor_liberado=i.valor_liberado,
                glosas=tuple(by_item[i.id]),
            )
            for i in guide.items
        ),
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
