"""The WSGI application: TISS SOAP endpoints (spyne) beside the HTTP pages (Flask)."""

import logging
import re
import time
import uuid
from urllib.parse import unquote

from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import metrics
from gateway.config import Settings
from gateway.logs import bind_request_id, unbind_request_id
from gateway.services.envelope import reject_unreadable
from gateway.services.gateway import Gateway
from gateway.soap import request_body
from gateway.soap.backoffice import app as backoffice
from gateway.soap.protocol import (
    ENV_CLIENT_CERT,
    ENV_GATEWAY,
    ENV_REMOTE,
    ENV_REQUEST_ID,
    ENV_VERSION,
    fault_for,
    router_inbound,
)
from gateway.soap.services import SERVICES, SOAP_PATH, build_soap_apps
from gateway.tiss.client_certificates import CertificateError, CertificateInfo, read_certificate
from gateway.tiss.namespaces import version_from_slug
from gateway.web import create_web_app

log = logging.getLogger(__name__)
access_log = logging.getLogger("gateway.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class GatewayApp:
    """Routes POSTs to /tiss/<version>/<Service> to that service's spyne application and every
    other request to Flask."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.soap = build_soap_apps(gw.settings.max_message_bytes)
        self.backoffice = backoffice.build_backoffice_app(gw.settings.max_message_bytes)
        self.web = create_web_app(gw)

    def __call__(self, environ, start_response):
        match = SOAP_PATH.match(environ.get("PATH_INFO", ""))
        if match and environ.get("REQUEST_METHOD") == "POST":
            version = version_from_slug(match.group(1))
            soap_app = self.soap.get(match.group(2))
            if soap_app is not None:
                # The message's own Padrao decides its version; the URL's only matters for
                # answers to messages whose version cannot be read.
                environ[ENV_GATEWAY] = self.gw
                environ[ENV_VERSION] = version if self.gw.accepts(version) else None
                environ[ENV_REQUEST_ID] = _request_id(environ)
                environ[ENV_REMOTE] = environ.get("REMOTE_ADDR")
                environ[ENV_CLIENT_CERT] = (
                    _client_certificate(environ) if self.gw.settings.client_cert_headers else None
                )
                _withhold_from_spyne(environ, "HTTP_AUTHORIZATION")  # TISS logs in by the body
                try:
                    self._prepare_body(match.group(2), environ)
                    return soap_app(environ, start_response)
                except Exception:
                    # Last resort: spyne itself failed. Still a TISS fault, never an HTML 500.
                    log.exception("SOAP application failed on %s", environ.get("PATH_INFO"))
                    return _server_fault(start_response)
        if environ.get("REQUEST_METHOD") == "POST" and _is_backoffice(environ):
            return self._backoffice(environ, start_response)
        return self.web(environ, start_response)

    def _prepare_body(self, service: str, environ) -> None:
        """The body whole and decoded for spyne (gateway.soap.request_body). One whose
        Content-Encoding cannot be undone is archived as it arrived and refused as unreadable
        (5002), the refusal naming the coding."""
        problem = request_body.prepare(environ, self.gw.settings.max_message_bytes)
        if problem is None:
            return
        spec, _ = SERVICES[service]
        inbound = router_inbound(environ, problem.raw)
        answer = reject_unreadable(self.gw, spec, inbound, problem.reason)
        request_body.fail_reading(environ, fault_for(answer))

    def _backoffice(self, environ, start_response):
        _withhold_from_spyne(environ)  # Authorization is moved aside by backoffice itself
        environ[ENV_GATEWAY] = self.gw
        environ[ENV_REQUEST_ID] = _request_id(environ)
        environ[ENV_REMOTE] = environ.get("REMOTE_ADDR")
        try:
            problem = request_body.prepare(environ, self.gw.settings.max_message_bytes)
            if problem is not None:
                refusal = backoffice.BackOfficeFault("RequisicaoInvalida", problem.reason)
                request_body.fail_reading(environ, refusal)
            return self.backoffice(environ, start_response)
        except Exception:
            log.exception("back-office SOAP application failed")
            return backoffice.last_resort_fault(start_response)


# Headers that carry credentials and that the SOAP services do not read (or have read already):
# spyne writes every HTTP header at DEBUG, so they are taken out of the environ it sees.
_SECRET_HEADERS = ("HTTP_COOKIE", "HTTP_PROXY_AUTHORIZATION", "HTTP_X_SSL_CLIENT_CERT")


def _withhold_from_spyne(environ, *more: str) -> None:
    for name in (*_SECRET_HEADERS, *more):
        environ.pop(name, None)


def _is_backoffice(environ) -> bool:
    return environ.get("PATH_INFO", "").rstrip("/") == backoffice.PATH


def _server_fault(start_response):
    from gateway.services.answers import SERVER_ERROR
    from gateway.soap.protocol import last_resort_fault
    from gateway.tiss.codes import FaultKind
    from gateway.tiss.responses import tiss_fault

    return last_resort_fault(start_response, SERVER_ERROR, tiss_fault(FaultKind.ERRO_INESPERADO))


def _client_certificate(environ) -> CertificateInfo | None:
    """The client certificate nginx verified (deploy/nginx: X-SSL-Client-Verify is
    $ssl_client_verify, X-SSL-Client-Cert the URL-encoded PEM $ssl_client_escaped_cert, both
    always set by nginx). Only SUCCESS counts: NONE is no certificate, FAILED:reason one nginx
    could not verify. Called only when TISS_CLIENT_CERT_HEADERS says nginx stands in front."""
    if environ.get("HTTP_X_SSL_CLIENT_VERIFY", "").strip() != "SUCCESS":
        return None
    try:
        return read_certificate(unquote(environ.get("HTTP_X_SSL_CLIENT_CERT", "")).encode())
    except (CertificateError, UnicodeEncodeError):
        # nginx verified a certificate it did not pass on: a proxy misconfiguration.
        log.warning("X-SSL-Client-Verify is SUCCESS but X-SSL-Client-Cert is not a certificate")
        return None


def _request_id(environ) -> str:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


class Observed:
    """Around every request: one request id (the client's valid X-Request-Id, else a new one)
    bound to every log line, stored with the archived message and sent back in X-Request-Id; an
    access log line; the latency histogram of the TISS services."""

    # Polled by load balancers and Prometheus every few seconds: logged only at DEBUG.
    QUIET = frozenset({"/healthz", "/readyz", "/metrics"})

    def __init__(self, app: GatewayApp) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        request_id = _request_id(environ)
        environ["HTTP_X_REQUEST_ID"] = request_id  # what the routes below read as the id
        token = bind_request_id(request_id)
        started = time.perf_counter()
        status = []

        def start(code, headers, exc_info=None):
            status.append(code)
            return start_response(code, [*headers, ("X-Request-Id", request_id)], exc_info)

        try:
            return self.app(environ, start)
        finally:
            elapsed = time.perf_counter() - started
            try:
                self._observe(environ, status[0] if status else "500", elapsed)
            finally:
                unbind_request_id(token)  # a later request of this thread must not inherit it

    def _observe(self, environ, status: str, elapsed: float) -> None:
        path = environ.get("PATH_INFO", "")
        match = SOAP_PATH.match(path)
        if match and environ.get("REQUEST_METHOD") == "POST" and match.group(2) in self.app.soap:
            metrics.observe_latency(match.group(2), elapsed)
        access_log.log(
            logging.DEBUG if path in self.QUIET else logging.INFO,
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            path,  # never the query string: it may carry a token
            status.split(" ", 1)[0],
            extra={
                "method": environ.get("REQUEST_METHOD"),
                "path": path,
                "status": int(status.split(" ", 1)[0]),
                "duration_ms": round(elapsed * 1000, 2),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "request_bytes": request_body.content_length(environ) or 0,
            },
        )


def build_app(gw: Gateway):
    app = Observed(GatewayApp(gw))
    if gw.settings.trust_proxy:
        return ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)
    return app


def create_app(settings: Settings | None = None):
    """WSGI entry point (`gateway.app:create_app()`), configured from the environment."""
    return build_app(Gateway.start(settings or Settings.from_env()))
