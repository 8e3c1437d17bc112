"""spyne service definitions: one spyne application per TISS web service.

Each operation takes the Body's root element as it arrived (spyne's AnyXml, `bare` body style)
and returns the answer element the use case built; a use-case fault becomes a SOAP Fault whose
detail is `tissFaultWS`.
"""

from collections.abc import Callable

from spyne import AnyXml, Application, ServiceBase, rpc
from spyne.server.wsgi import WsgiApplication

from gateway.services.answers import Answer
from gateway.services.inbound import ServiceSpec
from gateway.services.lots import LOTE_GUIAS, receive_lot
from gateway.soap.protocol import ENV_GATEWAY, SoapRequest, TissSoap11, fault_for
from gateway.tiss.namespaces import ANS

UseCase = Callable[..., Answer]


def _answer(ctx, use_case: UseCase):
    request: SoapRequest = ctx.udc
    answer = use_case(ctx.transport.req_env[ENV_GATEWAY], request.inbound, request.payload)
    if answer.fault is not None:
        raise fault_for(answer)
    return answer.payload


class TissLoteGuias(ServiceBase):
    @rpc(
        AnyXml,
        _body_style="bare",
        _in_message_name=LOTE_GUIAS.request_root,
        _returns=AnyXml,
        _out_message_name=LOTE_GUIAS.response_root,
    )
    def tissLoteGuias_Operation(ctx, _body):  # noqa: N802, N805 - the official operation name
        return _answer(ctx, receive_lot)


SERVICES: dict[str, tuple[ServiceSpec, type[ServiceBase]]] = {
    LOTE_GUIAS.name: (LOTE_GUIAS, TissLoteGuias),
}


def build_soap_apps(max_message_bytes: int) -> dict[str, WsgiApplication]:
    """One WSGI application per service, shared by every version (the payload namespace is the
    same for all versions; the version is read from `Padrao`)."""
    apps = {}
    for name, (spec, service) in SERVICES.items():
        app = Application(
            [service],
            tns=ANS,
            name=name,
            in_protocol=TissSoap11(spec),
            out_protocol=TissSoap11(spec),
        )
        apps[name] = WsgiApplication(app, max_content_length=max_message_bytes)
    return apps
