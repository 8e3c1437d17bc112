"""Reading protocols, guides, items and glosas from the database into the plain views
(gateway.tiss.views) that the TISS answers, the provider's portal and the back office are built
from: one mapping for all of them.

Guides, items and glosas are read as plain rows, not ORM objects: the status query is the
gateway's most frequent read, and loading a lot's guides and items as objects cost more than
everything else it did."""

from collections import defaultdict

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from gateway.services.gateway import Gateway
from gateway.tiss.views import GlosaView, GuideView, ItemView, ProtocolView
from storage.models import Glosa, Guide, GuideItem, Protocol, Provider

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


# The statements of a status query, built once (it is the most frequent request).
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


def find_protocol(session: Session, provider_id: int, numero: str) -> Protocol | None:
    """The provider's own protocol with that number (and its lot); another provider's is never
    returned."""
    return session.scalar(_PROTOCOL, {"numero": numero, "provider": provider_id})


def protocol_view(
    gw: Gateway, session: Session, protocol: Protocol, *, items: bool = True
) -> ProtocolView:
    """The protocol as the TISS answers describe it. `items=False` is the lighter view the status
    answer needs: guides without their items (see guide_views)."""
    lot = protocol.lot
    provider = session.get(Provider, protocol.provider_id)
    return ProtocolView(
        numero=protocol.numero,
        status=protocol.status,
        numero_lote=lot.numero_lote,
        data_envio=gw.local(lot.received_at).date(),
        codigo_prestador=provider.codigo_na_operadora,
        guides=guide_views(session, lot.id, protocol.id, items=items),
    )


def guide_views(
    session: Session, lot_id: int, protocol_id: int, *, items: bool = True
) -> tuple[GuideView, ...]:
    """The lot's guides in the order they were sent, each with its items (by sequencial) and the
    glosas the analysis recorded. Without items, a guide's glosas are its own followed by its
    items' (the order GuideView.all_glosas gives), which is all the status answer prints."""
    guide_rows = session.execute(_GUIDES, {"lot": lot_id}).all()
    on_guide, on_item = _glosas(session, protocol_id, fold_items=not items)
    by_guide: dict[int, list[ItemView]] = defaultdict(list)
    if items:
        item_rows = session.execute(_ITEMS, {"lot": lot_id}).all()
        for row in item_rows:
            by_guide[row.guide_id].append(
                ItemView(
                    sequencial=row.sequencial,
                    data_realizacao=row.data_realizacao,
                    codigo_tabela=row.codigo_tabela,
                    codigo_procedimento=row.codigo_procedimento,
                    descricao=row.descricao,
                    quantidade=row.quantidade,
                    valor_informado=row.valor_informado,
                    valor_processado=row.valor_processado,
                    valor_liberado=row.valor_liberado,
                    glosas=tuple(on_item.get(row.id, ())),
                )
            )
    return tuple(
        GuideView(
            guide_type=row.guide_type,
            numero_guia_prestador=row.numero_guia_prestador,
            numero_guia_operadora=row.numero_guia_operadora,
            numero_carteira=row.numero_carteira,
            atendimento_rn=row.atendimento_rn,
            data_realizacao=row.data_realizacao,
            valor_informado=row.valor_informado,
            valor_processado=row.valor_processado,
            valor_liberado=row.valor_liberado,
            glosas=tuple(on_guide.get(row.id, ())),
            items=tuple(by_guide.get(row.id, ())),
        )
        for row in guide_rows
    )


def _glosas(
    session: Session, protocol_id: int, *, fold_items: bool
) -> tuple[dict[int, list[GlosaView]], dict[int, list[GlosaView]]]:
    """Glosas by guide id (on the whole guide) and by item id, each list in recording order.
    `fold_items` puts the items' glosas after their guide's own, item by item."""
    rows = session.execute(_GLOSAS, {"protocol": protocol_id}).all()
    if fold_items:
        # Stable: within one item the glosas stay in recording order.
        rows = sorted(rows, key=lambda r: -1 if r.item_id is None else r.sequencial)
    on_guide: dict[int, list[GlosaView]] = defaultdict(list)
    on_item: dict[int, list[GlosaView]] = defaultdict(list)
    for row in rows:
        view = GlosaView(row.codigo, row.valor, row.descricao)
        if row.item_id is None or fold_items:
            on_guide[row.guide_id].append(view)
        else:
            on_item[row.item_id].append(view)
    return on_guide, on_item
