"""Reading protocols, guides, items and glosas from the database into the plain views
(gateway.tiss.views) that the TISS answers, the provider's portal and the back office are built
from: one mapping for all of them.

Guides, items and glosas are read as plain rows, not ORM objects: the status query is the
gateway's most frequent read, and loading a lot's guides and items as objects cost more than
everything else it did."""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session, joinedload

from gateway.services.gateway import Gateway
from gateway.services.protocol_numbers import as_issued
from gateway.services.senders import ProviderRef
from gateway.tiss.views import GlosaView, GuideView, ItemView, ProtocolView
from storage.db import core
from storage.models import Glosa, Guide, GuideItem, Lot, Protocol, Provider

_GUIDE_COLUMNS = (
    Guide.id,
    Guide.guide_type,
    Guide.numero_guia_prestador,
    Guide.numero_guia_operadora,
    Guide.numero_carteira,
    Guide.atendimento_rn,
    Guide.data_realizacao,
    Guide.valor_informado,
    Guide.valor_processado,
    Guide.valor_liberado,
)
_ITEM_COLUMNS = (
    GuideItem.guide_id,
    GuideItem.id,
    GuideItem.sequencial,
    GuideItem.data_realizacao,
    GuideItem.codigo_tabela,
    GuideItem.codigo_procedimento,
    GuideItem.descricao,
    GuideItem.quantidade,
    GuideItem.valor_informado,
    GuideItem.valor_processado,
    GuideItem.valor_liberado,
)


# Built once, like _STATUS below: the portal and the statements read protocols often too.
_PROTOCOL = (
    select(Protocol)
    .where(Protocol.numero == bindparam("numero"), Protocol.provider_id == bindparam("provider"))
    .options(joinedload(Protocol.lot))
)
_GUIDES = select(*_GUIDE_COLUMNS).where(Guide.lot_id == bindparam("lot")).order_by(Guide.position)
_ITEMS = (
    select(*_ITEM_COLUMNS)
    .join(Guide, Guide.id == GuideItem.guide_id)
    .where(Guide.lot_id == bindparam("lot"))
    .order_by(GuideItem.guide_id, GuideItem.sequencial)
)
_GLOSAS = (
    select(
        Glosa.guide_id,
        Glosa.item_id,
        GuideItem.sequencial,
        Glosa.codigo,
        Glosa.valor,
        Glosa.descricao,
    )
    .outerjoin(GuideItem, GuideItem.id == Glosa.item_id)
    .where(Glosa.protocol_id == bindparam("protocol"))
    .order_by(Glosa.id)
)


# A status query's protocol, lot and guides in one statement (one row per guide).
_STATUS = (
    select(
        Protocol.id.label("protocol_id"),
        Protocol.numero.label("protocol_numero"),
        Protocol.status.label("protocol_status"),
        Protocol.analyzed_at.label("protocol_analyzed_at"),
        Lot.numero_lote.label("lot_numero"),
        Lot.received_at.label("lot_received_at"),
        *_GUIDE_COLUMNS,
    )
    .join(Lot, Lot.id == Protocol.lot_id)
    .outerjoin(Guide, Guide.lot_id == Protocol.lot_id)
    .where(Protocol.numero == bindparam("numero"), Protocol.provider_id == bindparam("provider"))
    .order_by(Guide.position)
)


@dataclass(frozen=True)
class FoundProtocol:
    """A protocol found for a status query: what the archive record and the answer need."""

    id: int
    numero: str
    view: ProtocolView


def protocol_status(
    gw: Gateway, session: Session, provider: ProviderRef, numero: str
) -> FoundProtocol | None:
    """The provider's own protocol `numero` as the status answer describes it (guides without
    items, see guide_views), read in one statement, plus one for the glosas once analysed; None
    when the provider has no such protocol (another provider's is never returned)."""
    connection = core(session)  # nothing of the ORM's is pending in a status query
    rows = connection.execute(_STATUS, {"numero": as_issued(numero), "provider": provider.id})
    rows = rows.all()
    if not rows:
        return None
    first = rows[0]
    on_guide = (
        _glosas(connection, first.protocol_id, fold_items=True)[0]
        if first.protocol_analyzed_at is not None
        else {}
    )
    view = ProtocolView(
        numero=first.protocol_numero,
        status=first.protocol_status,
        numero_lote=first.lot_numero,
        data_envio=gw.local(first.lot_received_at).date(),
        codigo_prestador=provider.codigo_na_operadora,
        guides=tuple(_guide_view(row, on_guide, {}) for row in rows if row.id is not None),
    )
    return FoundProtocol(first.protocol_id, first.protocol_numero, view)


def find_protocol(session: Session, provider_id: int, numero: str) -> Protocol | None:
    """The provider's own protocol with that number (and its lot); another provider's is never
    returned."""
    return session.scalar(_PROTOCOL, {"numero": as_issued(numero), "provider": provider_id})


def protocol_view(gw: Gateway, session: Session, protocol: Protocol) -> ProtocolView:
    """The protocol as the TISS answers and the portal describe it, guides with their items."""
    lot = protocol.lot
    provider = session.get(Provider, protocol.provider_id)
    return ProtocolView(
        numero=protocol.numero,
        status=protocol.status,
        numero_lote=lot.numero_lote,
        data_envio=gw.local(lot.received_at).date(),
        codigo_prestador=provider.codigo_na_operadora,
        guides=guide_views(session, lot.id, protocol.id),
    )


def guide_views(session: Session, lot_id: int, protocol_id: int) -> tuple[GuideView, ...]:
    """The lot's guides in the order they were sent, each with its items (by sequencial) and the
    glosas the analysis recorded."""
    guide_rows = session.execute(_GUIDES, {"lot": lot_id}).all()
    on_guide, on_item = _glosas(session, protocol_id, fold_items=False)
    by_guide: dict[int, list[ItemView]] = defaultdict(list)
    item_rows = session.execute(_ITEMS, {"lot": lot_id}).all()
    for row in item_rows:
        by_guide[row.guide_id].append(_item_view(row, on_item.get(row.id, ())))
    return tuple(_guide_view(row, on_guide, by_guide) for row in guide_rows)


def guide_view(guide: Guide) -> GuideView:
    """One guide already loaded as an ORM object (a payment line's), with its items and
    glosas: the same view guide_views gives."""
    on_guide, on_item = _group_glosas(guide.glosas, fold_items=False)
    items = [_item_view(item, on_item.get(item.id, ())) for item in guide.items]
    return _guide_view(guide, on_guide, {guide.id: items})


_ITEM_FIELDS = tuple(c.key for c in _ITEM_COLUMNS if c.key not in ("guide_id", "id"))


def _item_view(source, glosas) -> ItemView:
    """From a row of _ITEMS or a GuideItem: both name their values like ItemView's fields."""
    return ItemView(**{f: getattr(source, f) for f in _ITEM_FIELDS}, glosas=tuple(glosas))


def _guide_view(
    row, glosas: dict[int, list[GlosaView]], items: dict[int, list[ItemView]]
) -> GuideView:
    return GuideView(
        guide_type=row.guide_type,
        numero_guia_prestador=row.numero_guia_prestador,
        numero_guia_operadora=row.numero_guia_operadora,
        numero_carteira=row.numero_carteira,
        atendimento_rn=row.atendimento_rn,
        data_realizacao=row.data_realizacao,
        valor_informado=row.valor_informado,
        valor_processado=row.valor_processado,
        valor_liberado=row.valor_liberado,
        glosas=tuple(glosas.get(row.id, ())),
        items=tuple(items.get(row.id, ())),
    )


def _glosas(
    session: Session | Connection, protocol_id: int, *, fold_items: bool
) -> tuple[dict[int, list[GlosaView]], dict[int, list[GlosaView]]]:
    """Glosas by guide id (on the whole guide) and by item id, each list in recording order.
    `fold_items` puts the items' glosas after their guide's own, item by item."""
    rows = session.execute(_GLOSAS, {"protocol": protocol_id}).all()
    if fold_items:
        # Stable: within one item the glosas stay in recording order.
        rows = sorted(rows, key=lambda r: -1 if r.item_id is None else r.sequencial)
    return _group_glosas(rows, fold_items=fold_items)


def _group_glosas(
    glosas, *, fold_items: bool
) -> tuple[dict[int, list[GlosaView]], dict[int, list[GlosaView]]]:
    """Rows of _GLOSAS or Glosa objects (both name guide_id, item_id, codigo, valor, descricao),
    in the order given, grouped by guide (whole-guide glosas, and all of them with `fold_items`)
    and by item."""
    on_guide: dict[int, list[GlosaView]] = defaultdict(list)
    on_item: dict[int, list[GlosaView]] = defaultdict(list)
    for glosa in glosas:
        view = GlosaView(glosa.codigo, glosa.valor, glosa.descricao)
        if glosa.item_id is None or fold_items:
            on_guide[glosa.guide_id].append(view)
        else:
            on_item[glosa.item_id].append(view)
    return on_guide, on_item
