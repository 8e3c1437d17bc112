"""situacaoProtocoloWS: the answer to a protocol status query."""

from lxml import etree

from gateway.tiss.codes import describe
from gateway.tiss.responses import (
    AnswerHeader,
    contratado_dados,
    guide_identification,
    money,
    motivo_glosa,
    new_message,
    seal,
    sub,
)
from gateway.tiss.views import GuideView, ProtocolView


def situacao_protocolo(
    header: AnswerHeader,
    registro_ans: str,
    codigo_prestador: str,
    view: ProtocolView | None,
    not_found_code: str,
) -> etree._Element:
    """The protocol's situation, or mensagemErro `not_found_code` when there is no such protocol
    for this provider (whether it does not exist or belongs to someone else: the answers are
    identical)."""
    root = new_message("situacaoProtocoloWS", header)
    situacao = sub(root, "situacaoProtocolo")
    if view is None:
        motivo_glosa(situacao, "mensagemErro", not_found_code, describe(not_found_code))
        return seal(root)
    do_protocolo = sub(situacao, "situacaoDoProtocolo")
    sub(do_protocolo, "identificacaoOperadora", registro_ans)
    contratado_dados(do_protocolo, "dadosPrestador", codigo_prestador)
    detalhe = sub(sub(do_protocolo, "lote"), "detalheLote")
    sub(detalhe, "statusProtocolo", str(view.status))
    sub(detalhe, "numeroProtocolo", view.numero)
    sub(detalhe, "numeroLote", view.numero_lote)
    sub(detalhe, "dataEnvioLote", view.data_envio.isoformat())
    valores = sub(detalhe, "valorTotalLote")
    sub(valores, "valorProcessado", money(view.processado))
    sub(valores, "valorGlosa", money(view.glosado))
    sub(valores, "valorLiberado", money(view.liberado))
    guias = sub(detalhe, "guiasTISS")
    for guide in view.guides:
        box = sub(guias, "guiasOdonto" if view.odonto else "guiasMedicas")
        _valores_guia(guide_identification(box, "guias", guide, view.odonto), guide)
    return seal(root)


def _valores_guia(parent: etree._Element, guide: GuideView) -> None:
    if guide.analyzed:
        valores = sub(parent, "vlInformadoGuia")
        sub(valores, "valorProcessado", money(guide.processado))
        sub(valores, "valorGlosa", money(guide.glosado))
        sub(valores, "valorLiberado", money(guide.liberado))
    if guide.all_glosas:
        box = sub(parent, "glosaGuia")
        for glosa in guide.all_glosas:
            motivo_glosa(box, "motivoGlosa", glosa.code, glosa.descricao)
