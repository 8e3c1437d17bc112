"""The back-office SOAP endpoint: spyne handles the envelope and the faults; each operation
authenticates the staff member, validates the request against the project's XSD and hands
plain values to a use case.

Same shape as the TISS endpoints (gateway/soap/protocol.py): the envelope is read with the
hardened parser, one spyne method per operation takes the Body's element as it arrived (AnyXml,
bare) and returns the answer element built with lxml. Every failure is a SOAP fault whose detail
is `backOfficeFault`; an unexpected one is logged and answered with a generic server fault.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree
from spyne import AnyXml, Application, ServiceBase, rpc
from spyne.error import RequestTooLongError
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from gateway.services.backoffice.errors import BackOfficeError, ErrorKind
from gateway.services.backoffice.staff import StaffPrincipal, authenticate_staff
from gateway.services.gateway import Gateway
from gateway.soap.backoffice import commands, credentialing, queries
from gateway.soap.backoffice.auth import (
    MISSING,
    Credentials,
    CredentialsError,
    hide_authorization,
    read_credentials,
)
from gateway.soap.backoffice.xml import NS, Reader, check_request, element, sub
from gateway.soap.protocol import (
    ENV_GATEWAY,
    ENV_REMOTE,
    ENV_REQUEST_ID,
    AnsweredFault,
    PayloadSoap11,
    body_payload,
)
from gateway.soap.protocol import last_resort_fault as soap_last_resort_fault
from gateway.tiss.xmlsafe import UnsafeXml, parse_untrusted

log = logging.getLogger(__name__)

PATH = "/backoffice/v1"

Operation = Callable[[Gateway, StaffPrincipal, Reader], etree._Element]

OPERATIONS: dict[str, Operation] = {
    "listarMensagens": queries.listar_mensagens,
    "obterMensagem": queries.obter_mensagem,
    "listarLotes": queries.listar_lotes,
    "obterProtocolo": queries.obter_protocolo,
    "alterarStatusProtocolo": commands.alterar_status,
    "registrarAnalise": commands.registrar_analise,
    "registrarPagamento": commands.registrar_pagamento,
    "carregarBeneficiarios": commands.carregar_beneficiarios,
    **credentialing.OPERATIONS,
}

CATEGORIES = {
    ErrorKind.INVALID: "RequisicaoInvalida",
    ErrorKind.NOT_FOUND: "NaoEncontrado",
    ErrorKind.NOT_ALLOWED: "OperacaoNaoPermitida",
    ErrorKind.AUTHENTICATION: "AutenticacaoInvalida",
}
SERVER_ERROR = "erro inesperado no servidor; nada foi gravado; tente novamente mais tarde"


def fault_detail(category: str, message: str) -> etree._Element:
    detail = element("backOfficeFault")
    sub(detail, "categoria", category)
    sub(detail, "mensagem", message)
    return detail


class BackOfficeFault(AnsweredFault):
    def __init__(self, category: str, message: str) -> None:
        detail = fault_detail(category, message)
        server = category == "ErroInesperadoServidor"
        super().__init__(
            faultcode="Server" if server else "Client", faultstring=message, detail=detail
        )


def fault_for(error: BackOfficeError) -> BackOfficeFault:
    return BackOfficeFault(CATEGORIES[error.kind], error.message)


def server_fault() -> BackOfficeFault:
    return BackOfficeFault("ErroInesperadoServidor", SERVER_ERROR)


@dataclass(frozen=True)
class BackOfficeRequest:
    payload: etree._Element
    credentials: Credentials | None
    credentials_error: str | None = None


class BackOfficeSoap11(PayloadSoap11):
    def create_in_document(self, ctx, charset=None):
        try:
            self._read_envelope(ctx)
        except BackOfficeFault:
            raise
        except Exception:
            log.exception("back office: cannot read request (%s)", _origin(ctx))
            raise server_fault() from None

    def _read_envelope(self, ctx) -> None:
        env = ctx.transport.req_env
        gw: Gateway = env[ENV_GATEWAY]
        try:
            raw = b"".join(ctx.in_string)
        except RequestTooLongError:
            limit = gw.settings.max_message_bytes
            raise _invalid(f"requisição acima do limite de {limit} bytes") from None
        try:
            envelope = parse_untrusted(raw, gw.settings.xml_limits).root
        except UnsafeXml as exc:
            raise _invalid(exc.reason) from None
        payload = body_payload(envelope)
        if isinstance(payload, str):
            raise _invalid(payload)
        try:
            credentials, error = read_credentials(envelope, env), None
        except CredentialsError as exc:
            credentials, error = None, str(exc)
        ctx.udc = BackOfficeRequest(payload, credentials, error)
        ctx.in_document = (envelope, {})

    def decompose_incoming_envelope(self, ctx, message=Soap11.REQUEST):
        super().decompose_incoming_envelope(ctx, message)
        if ctx.method_request_string not in self.app.interface.service_method_map:
            name = etree.QName(ctx.method_request_string)
            raise _invalid(
                f"operação desconhecida: {name.localname} ({name.namespace or 'sem namespace'}); "
                f"o namespace do serviço é {NS}"
            )

    def create_out_string(self, ctx, charset=None):
        ctx.transport.resp_headers["Content-Type"] = "text/xml; charset=UTF-8"
        ctx.out_string = [etree.tostring(ctx.out_document, encoding="UTF-8", xml_declaration=True)]


def _invalid(message: str) -> BackOfficeFault:
    return fault_for(BackOfficeError(message, ErrorKind.INVALID))


def _origin(ctx) -> str:
    """Request id and remote address, for the log lines."""
    env = ctx.transport.req_env
    return f"request {env.get(ENV_REQUEST_ID, '-')} from {env.get(ENV_REMOTE) or '-'}"


def _authenticate(
    gw: Gateway, request: BackOfficeRequest, remote_addr: str | None
) -> StaffPrincipal:
    if request.credentials_error is not None:
        raise BackOfficeError(request.credentials_error, ErrorKind.AUTHENTICATION)
    if request.credentials is None:
        raise BackOfficeError(MISSING, ErrorKind.AUTHENTICATION)
    credentials = request.credentials
    return authenticate_staff(
        gw.db, credentials.login, credentials.password, remote_addr=remote_addr
    )


def _run(ctx, name: str) -> etree._Element:
    gw: Gateway = ctx.transport.req_env[ENV_GATEWAY]
    request: BackOfficeRequest = ctx.udc
    # Named in the log only once authenticated: people type their password in the login field,
    # and the log would keep it. Failed logins of real accounts are in the access log.
    who = "(não autenticado)"
    try:
        staff = _authenticate(gw, request, ctx.transport.req_env.get(ENV_REMOTE))
        who = staff.login
        check_request(request.payload)
        answer = OPERATIONS[name](gw, staff, Reader(request.payload))
    except BackOfficeError as exc:
        # The password never reaches the log; a refused login is logged without its reason,
        # naming the account only when one has that login.
        log.info("back office %s by %s refused (%s): %s", name, who, _origin(ctx), exc.logged)
        raise fault_for(exc) from None
    except Exception:
        log.exception("back office %s by %s failed (%s)", name, who, _origin(ctx))
        raise server_fault() from None
    log.info("back office %s by %s (%s)", name, staff.login, _origin(ctx))
    return answer


def _operation(name: str):
    def method(ctx, _body):
        return _run(ctx, name)

    method.__name__ = name
    return rpc(
        AnyXml,
        _body_style="bare",
        _in_message_name=name,
        _returns=AnyXml,
        _out_message_name=f"{name}Resposta",
    )(method)


# One spyne method per operation, so that spyne dispatches on the Body's element.
BackOfficeService = type(
    "BackOfficeService", (ServiceBase,), {name: _operation(name) for name in OPERATIONS}
)


def build_backoffice_app(max_message_bytes: int):
    """The WSGI application of the endpoint."""
    app = Application(
        [BackOfficeService],
        tns=NS,
        name="tissGatewayBackOffice",
        in_protocol=BackOfficeSoap11(),
        out_protocol=BackOfficeSoap11(),
    )
    spyne_app = WsgiApplication(app, max_content_length=max_message_bytes)

    def backoffice_app(environ, start_response):
        hide_authorization(environ)
        return spyne_app(environ, start_response)

    return backoffice_app


def last_resort_fault(start_response):
    """spyne itself failed: still a SOAP fault with backOfficeFault, never an HTML 500."""
    return soap_last_resort_fault(
        start_response, SERVER_ERROR, fault_detail("ErroInesperadoServidor", SERVER_ERROR)
    )
