"""HTTP pages that are not SOAP: the WSDLs and schemas of each version, health checks, an index."""

import hmac

from flask import Flask, Response, abort, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from gateway import metrics, resources
from gateway.portal import init_portal
from gateway.services.gateway import Gateway
from gateway.soap.backoffice.app import PATH as BACKOFFICE_PATH
from gateway.soap.services import SERVICES, SOAP_PATH
from gateway.tiss.namespaces import version_from_slug, version_slug

XML = "text/xml; charset=utf-8"


def create_web_app(gw: Gateway) -> Flask:
    app = Flask("gateway")
    # The whole request body: a file of exactly its limit (a TISS file: the message limit; a
    # credentialing document: the upload limit, which may be the larger) comes with the form's
    # boundaries and CSRF token around it, and the views check the file's own size.
    largest_file = max(gw.settings.max_message_bytes, gw.settings.portal.max_upload_bytes)
    app.config["MAX_CONTENT_LENGTH"] = largest_file + 64 * 1024

    def base_url() -> str:
        return gw.settings.public_url or request.host_url.rstrip("/")

    def served_version(slug: str) -> str:
        version = version_from_slug(slug)
        if not gw.accepts(version):
            abort(404)
        return version

    @app.route("/tiss/<slug>/<service>", methods=["GET", "POST"], strict_slashes=False)
    def wsdl(slug: str, service: str):
        if request.method == "POST" or service not in SERVICES:
            # A POST reaches Flask only when the router found no such service (gateway.app).
            return _unknown_service(slug, service)
        version = served_version(slug)
        if not _asks_for_wsdl():
            return Response(
                f"{service} {version}: envie mensagens SOAP 1.1 por POST; WSDL em ?wsdl\n",
                status=405,
                headers={"Allow": _soap_endpoint_methods()},
                mimetype="text/plain",
            )
        spec, _ = SERVICES[service]
        body = resources.render_tiss_wsdl(
            spec,
            version,
            address=f"{base_url()}/tiss/{slug}/{service}",
            schema_base=f"{base_url()}/tiss/{slug}/schemas",
        )
        return Response(body, content_type=XML)

    @app.get("/tiss/<slug>/schemas/<file_name>")
    def schema_file(slug: str, file_name: str):
        schema_set = gw.schemas.get(served_version(slug))
        if file_name not in schema_set.sha256:  # only the verified files, never a path
            abort(404)
        data = (schema_set.directory / file_name).read_bytes()
        return Response(data, content_type="text/xml")

    @app.get(BACKOFFICE_PATH, strict_slashes=False)
    def backoffice_wsdl():
        if not _asks_for_wsdl():
            return Response(
                "back office: envie mensagens SOAP 1.1 por POST; WSDL em ?wsdl\n",
                status=405,
                headers={"Allow": _soap_endpoint_methods()},
                mimetype="text/plain",
            )
        body = resources.render_backoffice_wsdl(
            address=f"{base_url()}{BACKOFFICE_PATH}",
            schema_location=f"{base_url()}{BACKOFFICE_PATH}/{resources.BACKOFFICE}.xsd",
        )
        return Response(body, content_type=XML)

    @app.get(f"{BACKOFFICE_PATH}/{resources.BACKOFFICE}.xsd")
    def backoffice_xsd():
        return Response(resources.backoffice_xsd_path().read_bytes(), content_type=XML)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        try:
            with gw.db.reading() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            return jsonify(status="unavailable", database="unreachable"), 503
        try:
            registro_ans = gw.registro_ans()
        except SQLAlchemyError:
            # It answers, but without the gateway's tables: a new or restored-empty database
            # that `tiss-gateway db upgrade` has not been run on.
            return jsonify(status="unavailable", database="not migrated"), 503
        if not registro_ans:
            return jsonify(status="unavailable", operator="not configured"), 503
        schemas = _schema_state(gw)
        if "missing" in schemas.values():
            return jsonify(status="unavailable", schemas=schemas), 503
        return jsonify(
            status="ready", versions=list(gw.settings.accepted_versions), schemas=schemas
        )

    @app.get("/metrics")
    def metrics_page():
        token = gw.settings.metrics_token
        # RFC 7235: the scheme is case-insensitive ("bearer" is Bearer); the token is not.
        scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
        if token and not (
            scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())
        ):
            return Response("unauthorized\n", status=401, headers={"WWW-Authenticate": "Bearer"})
        body, content_type = metrics.render()
        return Response(body, content_type=content_type)

    @app.get("/")
    def index():
        endpoints = {
            version: {
                name: f"{base_url()}/tiss/{version_slug(version)}/{name}" for name in SERVICES
            }
            for version in gw.settings.accepted_versions
        }
        return jsonify(service="tiss-gateway", registroANS=gw.registro_ans(), endpoints=endpoints)

    @app.after_request
    def soap_endpoint_options(response: Response) -> Response:
        # Flask's automatic OPTIONS answer lists its own routes' methods; a SOAP endpoint's are
        # the ones its 405s give.
        if request.method == "OPTIONS" and _is_soap_endpoint(request.path):
            response.headers["Allow"] = _soap_endpoint_methods()
        return response

    # The provider portal (credentialing, accounts, the staff's queue) under /portal/.
    portal_error_page = init_portal(app, gw)
    _error_pages(app, portal_error_page)
    return app


def _asks_for_wsdl() -> bool:
    return "wsdl" in {k.lower() for k in request.args}


def _is_soap_endpoint(path: str) -> bool:
    """A URL whose POSTs gateway.app hands to spyne (a TISS service, the back office)."""
    match = SOAP_PATH.match(path)
    return (match is not None and match.group(2) in SERVICES) or (
        path.rstrip("/") == BACKOFFICE_PATH
    )


def _soap_endpoint_methods() -> str:
    """The methods a SOAP endpoint's URL takes, for its Allow header: POST (the router's, so
    Flask's routes do not list it), and GET and HEAD only with ?wsdl (without it they are
    405). Every 405 and OPTIONS answer of the URL says the same."""
    return "GET, HEAD, POST" if _asks_for_wsdl() else "POST"


def _unknown_service(slug: str, service: str) -> Response:
    """404 for a service name that does not exist; `tissLoteGuias.wsdl` (how some tools ask for
    a WSDL) is pointed to the service and its ?wsdl."""
    stem = service[: -len(".wsdl")] if service.lower().endswith(".wsdl") else None
    if stem in SERVICES:
        says = (
            f"404 não encontrado: {service}; o serviço é /tiss/{slug}/{stem} e o WSDL dele "
            f"está em /tiss/{slug}/{stem}?wsdl\n"
        )
    else:
        says = f"404 serviço TISS desconhecido: {service}; serviços: {', '.join(SERVICES)}\n"
    return Response(says, status=404, mimetype="text/plain")


# What a client that mistyped a URL or method, or met a failure, reads outside the portal: plain
# Portuguese text, not Werkzeug's English HTML page.
_PLAIN_ERRORS = {
    404: "não encontrado: {path} (os serviços e suas URLs estão em /)",
    405: "método {method} não permitido em {path}; use {allowed}",
    500: "erro inesperado no servidor; tente novamente mais tarde",
}


def _error_pages(app: Flask, portal_error_page) -> None:
    """404 and 405 of the router (no blueprint's handler sees them) and any 500, everywhere: the
    portal's own page under /portal, plain text elsewhere. 500s are logged by Flask first."""

    def handle(exc: HTTPException):
        if _is_soap_endpoint(request.path):
            allowed = _soap_endpoint_methods()  # Flask's routes do not know the router's POST
        else:
            allowed = ", ".join(getattr(exc, "valid_methods", None) or ())  # a 405's methods
        if request.path == "/portal" or request.path.startswith("/portal/"):
            response = portal_error_page(exc.code)
        else:
            text_ = _PLAIN_ERRORS[exc.code].format(
                path=request.path, method=request.method, allowed=allowed
            )
            response = Response(f"{exc.code} {text_}\n", status=exc.code, mimetype="text/plain")
        if exc.code == 405:
            response.headers["Allow"] = allowed
        return response

    for code in _PLAIN_ERRORS:
        app.register_error_handler(code, handle)


def _schema_state(gw: Gateway) -> dict[str, str]:
    """Each accepted version's schema set: compiled (ready to validate), loaded (verified, compiled
    on first use by this thread) or missing."""
    state = {}
    for version in gw.settings.accepted_versions:
        schema_set = gw.schemas.get(version)
        if schema_set is None:
            state[version] = "missing"
        else:
            state[version] = "compiled" if schema_set.is_compiled() else "loaded"
    return state
