"""spyne's SOAP 1.1 protocol, adapted to TISS.

- The envelope is read with the gateway's hardened parser (no DTD, no entities, size and depth
  limits) instead of spyne's own.
- The Body's root element reaches the use case untouched, and the answer element the use case
  built goes into the Body untouched (its hash was computed over exactly those texts).
- The answer is written in the charset the request declared (its XML declaration, or the
  HTTP charset for a document that names none).
- An MTOM (multipart) request, a SOAP 1.2 envelope and a header block marked mustUnderstand are
  refused before any use case runs, archived like every other refusal.
- A fault goes out as the bytes the use case built and archived (gateway.tiss.soap), not as
  spyne would write it, so that the archive holds exactly what the client received.
"""

import logging
from dataclasses import dataclass, replace

from lxml import etree
from spyne import Fault
from spyne import const as spyne_const
from spyne.error import RequestTooLongError
from spyne.protocol.soap import Soap11

from gateway import metrics
from gateway.services.answers import Answer, record_failure
from gateway.services.envelope import reject_unreadable
from gateway.services.inbound import Facts, Inbound, ServiceSpec
from gateway.soap.request_body import content_length
from gateway.tiss.namespaces import SOAP11_ENV
from gateway.tiss.soap import SERVER, envelope_refusal, soap_envelope, soap_fault
from gateway.tiss.xmlsafe import UnsafeXml, parse_untrusted

ENV_GATEWAY = "tiss.gateway"
ENV_VERSION = "tiss.endpoint_version"
ENV_REQUEST_ID = "tiss.request_id"
ENV_REMOTE = "tiss.remote_addr"
ENV_CLIENT_CERT = "tiss.client_certificate"  # a trusted, verified client certificate, or None

log = logging.getLogger(__name__)

# spyne runs a full gc.collect() at the end of a request once a second (to close the files of
# its attachments, which the gateway does not use): tens of milliseconds with a worker's heap,
# paid by whichever request comes along, which showed as the p99 of the benchmarks.
spyne_const.MIN_GC_INTERVAL = float("inf")


class AnsweredFault(Fault):
    """A fault that is the answer to a request (already archived or logged where it matters),
    not an incident: spyne does not log it with a traceback."""


class TissFault(AnsweredFault):
    """A use case's fault answer: its SOAP fault (tissFaultWS in the detail) was built whole by
    the use case, and is sent as those bytes (TissSoap11.create_out_string)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(
            faultcode="Server" if answer.is_server_error else "Client",
            faultstring=answer.fault_string,
        )
        self.answer = answer


@dataclass(frozen=True)
class SoapRequest:
    """What the adapter hands to the service method through spyne's user-defined context."""

    inbound: Inbound
    payload: etree._Element | None  # None while the envelope is being read


def last_resort_fault(start_response, faultstring: str, detail: etree._Element) -> list[bytes]:
    """spyne itself failed: still a SOAP Server fault (with the service's own fault detail),
    never an HTML 500."""
    envelope = soap_fault(SERVER, faultstring, detail)
    body = etree.tostring(envelope, encoding="UTF-8", xml_declaration=True)
    start_response(
        "500 Internal Server Error",
        [("Content-Type", "text/xml; charset=UTF-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


class PayloadSoap11(Soap11):
    """Soap11 whose answer is the element the service method returned, put in the Body as it
    is (spyne would re-serialize it through its own models)."""

    def serialize(self, ctx, message):
        if ctx.out_error is not None or not ctx.out_object:
            return super().serialize(ctx, message)
        ctx.out_document = soap_envelope(ctx.out_object[0])


class TissSoap11(PayloadSoap11):
    def __init__(self, spec: ServiceSpec, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def serialize(self, ctx, message):
        if isinstance(ctx.out_error, TissFault):
            return  # already built and archived whole: create_out_string sends its bytes
        return super().serialize(ctx, message)

    def create_in_document(self, ctx, charset=None):
        # `charset`: the Content-Type's, which spyne read (WsgiApplication); None without one.
        try:
            self._read_envelope(ctx, charset)
        except TissFault as fault:
            # Answered before any use case ran (the pipeline counts the others).
            metrics.observe_answer(self.spec.name, "soap", fault.answer)
            raise
        except Exception:
            gw = ctx.transport.req_env[ENV_GATEWAY]
            # The bytes, when they were read before the failure: they are archived too.
            request = ctx.udc if isinstance(ctx.udc, SoapRequest) else None
            inbound = (
                request.inbound if request is not None else router_inbound(ctx.transport.req_env)
            )
            answer = record_failure(gw, self.spec, inbound, Facts(), gw.utcnow())
            metrics.observe_answer(self.spec.name, "soap", answer)
            raise fault_for(answer) from None

    def _read_envelope(self, ctx, http_charset: str | None) -> None:
        gw = ctx.transport.req_env[ENV_GATEWAY]
        inbound = router_inbound(ctx.transport.req_env)
        try:
            raw = b"".join(ctx.in_string)
        except RequestTooLongError:
            # Refused unread: the archive keeps the size the request announced, not its bytes.
            size = content_length(ctx.transport.req_env) or 0  # 0: it announced none
            inbound = replace(inbound, unread_size=size)
            limit = gw.settings.max_message_bytes
            raise self._reject(gw, inbound, f"mensagem acima do limite de {limit} bytes") from None
        inbound = replace(inbound, raw=raw)
        ctx.udc = SoapRequest(inbound=inbound, payload=None)  # what a failure from here archives
        if _is_multipart(ctx.transport.req_env):
            raise self._reject(gw, inbound, MULTIPART_REFUSED)
        try:
            parsed = parse_untrusted(raw, gw.settings.xml_limits, http_charset)
        except UnsafeXml as exc:
            raise self._reject(gw, inbound, exc.reason) from None
        # The charset the document was read in, which the answer is written in too.
        inbound = replace(inbound, declared_charset=parsed.declared_encoding)
        refusal = envelope_refusal(parsed.root)
        if refusal is not None:
            raise self._reject(gw, inbound, refusal.reason, refusal.faultcode)
        payload = body_payload(parsed.root)
        if isinstance(payload, str):
            raise self._reject(gw, inbound, payload)
        ctx.udc = SoapRequest(inbound=inbound, payload=payload)
        ctx.in_document = (parsed.root, {})

    def decompose_incoming_envelope(self, ctx, message=Soap11.REQUEST):
        super().decompose_incoming_envelope(ctx, message)
        # Every endpoint serves one TISS service: dispatch to it whatever the Body holds, so that
        # a message meant for another service is archived and answered by the use case.
        ctx.method_request_string = next(iter(self.app.interface.service_method_map))

    def create_out_string(self, ctx, charset=None):
        request = ctx.udc if isinstance(ctx.udc, SoapRequest) else None
        error = ctx.out_error
        if isinstance(error, TissFault):
            ctx.transport.resp_headers["Content-Type"] = f"text/xml; charset={error.answer.charset}"
            ctx.out_string = [error.answer.fault_document]
            return
        if request is not None:
            charset = request.inbound.answer_charset
        else:
            charset = "UTF-8"
        ctx.transport.resp_headers["Content-Type"] = f"text/xml; charset={charset}"
        ctx.out_string = [etree.tostring(ctx.out_document, encoding=charset, xml_declaration=True)]

    def _reject(self, gw, inbound: Inbound, reason: str, faultcode: str | None = None) -> TissFault:
        answer = reject_unreadable(gw, self.spec, inbound, reason, faultcode=faultcode)
        return fault_for(answer)


def router_inbound(env, raw: bytes = b"") -> Inbound:
    """The request as far as the router knows it (gateway.app), with the bytes read so far: none
    before spyne reads them, or a body the router refused itself."""
    return Inbound(
        raw=raw,
        channel="soap",
        request_id=env[ENV_REQUEST_ID],
        remote_addr=env.get(ENV_REMOTE),
        endpoint_version=env.get(ENV_VERSION),
        client_certificate=env.get(ENV_CLIENT_CERT),
    )


MULTIPART_REFUSED = (
    "MTOM/multipart não é aceito; envie o envelope SOAP como text/xml, sem anexos (os "
    "documentos vão em base64 dentro da mensagem TISS)"
)


def _is_multipart(env) -> bool:
    """An MTOM or SwA request (multipart/related): the envelope is one MIME part among others,
    which the gateway does not read (the TISS WSDLs declare no attachment)."""
    media_type = (env.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("multipart/")


def fault_for(answer: Answer) -> TissFault:
    return TissFault(answer)


class _DropAnsweredFaults(logging.Filter):
    """spyne logs every fault a method raises with its traceback; ours are answers, already
    archived (and server failures already logged by the use case), so they are not repeated."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AnsweredFault))


for _name in ("spyne.application", "spyne.application.client", "spyne.application.server"):
    logging.getLogger(_name).addFilter(_DropAnsweredFaults())


def body_payload(envelope: etree._Element) -> etree._Element | str:
    """The single element in a SOAP 1.1 Body, or the reason there is none."""
    if envelope.tag != f"{{{SOAP11_ENV}}}Envelope":
        return "o documento não é um envelope SOAP 1.1"
    body = envelope.find(f"{{{SOAP11_ENV}}}Body")
    if body is None:
        return "envelope SOAP sem Body"
    children = list(body.iterchildren(etree.Element))
    if len(children) != 1:
        return f"o Body deve conter exatamente um elemento, contém {len(children)}"
    # spyne reads a Fault in a request's Body as the caller's error and then fails on it: a
    # request that carries one is refused here, archived like any unreadable request.
    if children[0].tag == f"{{{SOAP11_ENV}}}Fault":
        return "o Body traz um soapenv:Fault, não uma requisição"
    return children[0]
