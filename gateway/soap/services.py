"""spyne service definitions: one spyne application per TISS web service.

Each operation takes the Body's root element as it arrived (spyne's AnyXml, `bare` body style)
and returns the answer element the use case built; a use-case fault becomes a SOAP Fault whose
detail is `tissFaultWS`.
"""

import re
from collections.abc import Callable

from spyne import AnyXml, Application, ServiceBase, rpc
from spyne.server.wsgi import WsgiApplication

from gateway.services.answers import Answer
from gateway.services.eligibility import VERIFICA_ELEGIBILIDADE, answer_eligibility
from gateway.services.inbound import ServiceSpec
from gateway.services.lots import LOTE_GUIAS, receive_lot
from gateway.services.statements import DEMONSTRATIVO_RETORNO, answer_statement
from gateway.services.status import STATUS_PROTOCOLO, answer_status
from gateway.soap.protocol import ENV_GATEWAY, SoapRequest, TissSoap11, fault_for
from gateway.tiss.namespaces import ANS

UseCase = Callable[..., Answer]


def _service_class(spec: ServiceSpec, use_case: UseCase) -> type[ServiceBase]:
    """A spyne service whose single operation has the official name, e.g.
    tissLoteGuias_Operation, taking `loteGuiasWS` and returning `protocoloRecebimentoWS`."""

    def operation(ctx, _body):
        request: SoapRequest = ctx.udc
        answer = use_case(ctx.transport.req_env[ENV_GATEWAY], request.inbound, request.payload)
        if answer.fault is not None:
            raise fault_for(answer)
        return answer.payload

    operation.__name__ = f"{spec.name}_Operation"
    method = rpc(
        AnyXml,
        _body_style="bare",
        _in_message_name=spec.request_root,
        _returns=AnyXml,
        _out_message_name=spec.response_root,
    )(operation)
    return type(spec.name, (ServiceBase,), {operation.__name__: method})


# The URL of a service's endpoint: /tiss/<version slug>/<service name>, the router's (gateway.app)
# and the web pages' (gateway.web) reading of it.
SOAP_PATH = re.compile(r"^/tiss/(v\d{5})/([A-Za-z]+)/?$")

SERVICES: dict[str, tuple[ServiceSpec, UseCase]] = {
    spec.name: (spec, use_case)
    for spec, use_case in (
        (LOTE_GUIAS, receive_lot),
        (STATUS_PROTOCOLO, answer_status),
        (VERIFICA_ELEGIBILIDADE, answer_eligibility),
        (DEMONSTRATIVO_RETORNO, answer_statement),
    )
}


def build_soap_apps(max_message_bytes: int) -> dict[str, WsgiApplication]:
    """One WSGI application per service, shared by every version (the payload namespace is the
    same for all versions; the version is read from `Padrao`)."""
    apps = {}
    for name, (spec, use_case) in SERVICES.items():
        app = Application(
            [_service_class(spec, use_case)],
            tns=ANS,
            name=name,
            in_protocol=TissSoap11(spec),
            out_protocol=TissSoap11(spec),
        )
        apps[name] = WsgiApplication(app, max_content_length=max_message_bytes)
    return apps
