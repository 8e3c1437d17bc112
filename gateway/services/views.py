"""Reading protocols, guides, items and glosas from the database into the plain views the TISS
answers (and the portal) are built from. Always scoped to one provider."""

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gateway.services.gateway import Gateway
from gateway.tiss.views import GlosaView, GuideView, ItemView, ProtocolView
from storage import models


def find_protocol(session: Session, provider_id: int, numero: str) -> models.Protocol | None:
    """The provider's own protocol with that number; another provider's is never returned."""
    return session.scalar(
        select(models.Protocol)
        .where(models.Protocol.numero == numero, models.Protocol.provider_id == provider_id)
        .options(
            selectinload(models.Protocol.lot)
            .selectinload(models.Lot.guides)
            .selectinload(models.Guide.items)
        )
    )


def protocol_view(gw: Gateway, session: Session, protocol: models.Protocol) -> ProtocolView:
    glosas = session.scalars(
        select(models.Glosa)
        .where(models.Glosa.protocol_id == protocol.id)
        .order_by(models.Glosa.id)
    ).all()
    by_guide: dict[int, list[GlosaView]] = defaultdict(list)
    by_item: dict[int, list[GlosaView]] = defaultdict(list)
    for g in glosas:
        view = GlosaView(g.codigo, g.valor, g.descricao)
        (by_item[g.item_id] if g.item_id is not None else by_guide[g.guide_id]).append(view)
    lot = protocol.lot
    provider = session.get(models.Provider, protocol.provider_id)
    return ProtocolView(
        numero=protocol.numero,
        status=protocol.status,
        numero_lote=lot.numero_lote,
        data_envio=gw.local(lot.received_at).date(),
        codigo_prestador=provider.codigo_na_operadora,
        guides=tuple(
            GuideView(
                guide_type=guide.guide_type,
                numero_guia_prestador=guide.numero_guia_prestador,
                numero_guia_operadora=guide.numero_guia_operadora,
                numero_carteira=guide.numero_carteira,
                atendimento_rn=guide.atendimento_rn,
                data_realizacao=guide.data_realizacao,
                valor_informado=guide.valor_informado,
                valor_processado=guide.valor_processado,
                valor_liberado=guide.valor_liberado,
                glosas=tuple(by_guide[guide.id]),
                items=tuple(
                    ItemView(
                        sequencial=item.sequencial,
                        data_realizacao=item.data_realizacao,
                        codigo_tabela=item.codigo_tabela,
                        codigo_procedimento=item.codigo_procedimento,
                        descricao=item.descricao,
                        quantidade=item.quantidade,
                        valor_informado=item.valor_informado,
                        valor_processado=item.valor_processado,
                        valor_liberado=item.valor_liberado,
                        glosas=tuple(by_item[item.id]),
                    )
                    for item in guide.items
                ),
            )
            for guide in lot.guides
        ),
    )
