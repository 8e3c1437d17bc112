"""The provider web area (seed 004): Início, Meus Dados, Envio de Arquivo XML, Consultar
Arquivos, Status do Protocolo, Capa de Lote, Demonstrativos, Elegibilidade and Digitação de
Guias, under /portal/prestador/. Views read the request, call a use case scoped to the provider
the user acts for, and render a page or a document."""

from flask import Blueprint

from gateway.portal.context import Portal
from gateway.portal.provider import area, files, guides, home, queries, statements


def blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint("prestador", __name__, url_prefix="/prestador")
    for module in (home, files, queries, statements, guides):
        module.register(bp, portal)

    @bp.context_processor
    def area_context():
        return {
            "area_menu": area.menu(),
            "acting": area.current(),
            "acting_several": len(area.known_choices()) > 1,
        }

    return bp
