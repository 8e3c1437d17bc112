"""Writers of the schema's complex types shared by several answers."""

from lxml import etree

from gateway.services.backoffice import transitions
from gateway.services.backoffice.listings import MessageSummary
from gateway.services.backoffice.protocols import ProtocolView
from gateway.soap.backoffice.xml import money, node, sub
from gateway.tiss.views import GlosaView, GuideView, ItemView


def message_summary(parent: etree._Element, name: str, m: MessageSummary) -> None:
    el = node(parent, name)
    sub(el, "id", m.id)
    sub(el, "recebidaEm", m.received_at)
    sub(el, "servico", m.service)
    sub(el, "canal", m.channel)
    sub(el, "versao", m.version)
    sub(el, "codigoPrestador", m.provider_code)
    sub(el, "resultado", m.outcome)
    for code in m.codes:
        sub(el, "codigoGlosa", code)
    sub(el, "numeroProtocolo", m.protocol)
    sub(el, "requestId", m.request_id)


def protocol(parent: etree._Element, view: ProtocolView) -> None:
    el = node(parent, "protocolo")
    sub(el, "numeroProtocolo", view.numero)
    sub(el, "status", view.status)
    sub(el, "descricaoStatus", view.status_name)
    sub(el, "codigoPrestador", view.provider_code)
    sub(el, "numeroLote", view.numero_lote)
    sub(el, "tipoGuia", view.guide_type)
    sub(el, "recebidoEm", view.received_at)
    sub(el, "atualizadoEm", view.updated_at)
    sub(el, "analisadoEm", view.analyzed_at)
    sub(el, "valorInformado", money(view.valor_informado))
    sub(el, "valorProcessado", money(view.valor_processado))
    sub(el, "valorLiberado", money(view.valor_liberado))
    sub(el, "valorGlosa", money(view.valor_glosa))
    history = node(el, "historico")
    for change in view.history:
        entry = node(history, "alteracao")
        sub(entry, "status", change.status)
        sub(entry, "descricaoStatus", transitions.describe(change.status))
        sub(entry, "data", change.changed_at)
        sub(entry, "responsavel", change.actor)
        sub(entry, "motivo", change.reason)
    for guide in view.guides:
        _guide(el, guide)


def _guide(parent: etree._Element, guide: GuideView) -> None:
    el = node(parent, "guia")
    sub(el, "numeroGuiaPrestador", guide.numero_guia_prestador)
    sub(el, "numeroGuiaOperadora", guide.numero_guia_operadora)
    sub(el, "numeroCarteira", guide.numero_carteira)
    sub(el, "valorInformado", money(guide.valor_informado))
    sub(el, "valorProcessado", money(guide.valor_processado))
    sub(el, "valorLiberado", money(guide.valor_liberado))
    _glosas(el, guide.glosas)
    for item in guide.items:
        _item(el, item)


def _item(parent: etree._Element, item: ItemView) -> None:
    el = node(parent, "item")
    sub(el, "sequencialItem", item.sequencial)
    sub(el, "codigoTabela", item.codigo_tabela)
    sub(el, "codigoProcedimento", item.codigo_procedimento)
    sub(el, "descricaoProcedimento", item.descricao)
    sub(el, "quantidade", item.quantidade)
    sub(el, "valorInformado", money(item.valor_informado))
    sub(el, "valorProcessado", money(item.valor_processado))
    sub(el, "valorLiberado", money(item.valor_liberado))
    _glosas(el, item.glosas)


def _glosas(parent: etree._Element, glosas: tuple[GlosaView, ...]) -> None:
    for glosa in glosas:
        el = node(parent, "glosa")
        sub(el, "codigoGlosa", glosa.code)
        sub(el, "valor", money(glosa.valor))
        sub(el, "descricao", glosa.descricao)
