"""Use case: answer a protocol status query (tissSolicitacaoStatusProtocolo)."""

from lxml import etree

from gateway.services.answers import Answer
from gateway.services.gateway import Gateway
from gateway.services.inbound import Inbound, Principal, ServiceSpec
from gateway.services.pipeline import Exchange, run_service
from gateway.services.views import protocol_status
from gateway.tiss import codes
from gateway.tiss.requests import status_request
from gateway.tiss.status import situacao_protocolo

STATUS_PROTOCOLO = ServiceSpec(
    name="tissSolicitacaoStatusProtocolo",
    request_root="solicitacaoStatusProtocoloWS",
    tipo_transacao="SOLIC_STATUS_PROTOCOLO",
    response_root="situacaoProtocoloWS",
    response_tipo="SITUACAO_PROTOCOLO",
    reads_only=True,
)


def answer_status(
    gw: Gateway, inbound: Inbound, message: etree._Element, principal: Principal | None = None
) -> Answer:
    return run_service(gw, STATUS_PROTOCOLO, inbound, message, _handle, principal=principal)


def _handle(ex: Exchange) -> Answer:
    request = status_request(ex.message)
    ex.require_own(request.prestador)
    found = protocol_status(ex.gw, ex.session, ex.provider, request.numero_protocolo)
    view = found.view if found is not None else None
    not_found = ex.glosa_code(codes.PROTOCOL_NOT_FOUND, codes.IDENTIFIER_UNKNOWN)
    return ex.reply(
        lambda header: situacao_protocolo(
            header, ex.gw.registro_ans(), ex.provider.codigo_na_operadora, view, not_found
        ),
        codes=[] if view is not None else [not_found],
        protocol=found,
    )
