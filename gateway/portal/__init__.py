"""The provider portal (Flask + Jinja2, server-rendered, in Brazilian Portuguese): credentialing
self-registration, the candidate's area, the operator staff's queue, and account security.
Mounted under /portal/ on the same WSGI application as the SOAP services."""

import functools
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import limits.errors  # binds `limits` too (parse_many)
from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    g,
    make_response,
    render_template,
    request,
    session,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

from gateway.config import ConfigError
from gateway.portal import account, candidate, context, filters, provider, public, staff
from gateway.services.accounts.sessions import SessionExpired, resume
from gateway.services.gateway import Gateway
from gateway.services.mail import Mailer

log = logging.getLogger(__name__)
SESSION_KEY = "sid"


def init_portal(app: Flask, gw: Gateway) -> Callable[[int], Response]:
    """Mount the portal on `app`; returns what renders its error page for a status (404, 405,
    500), which the application uses for every path under /portal."""
    settings = gw.settings.portal
    app.config.update(
        SECRET_KEY=settings.secret_key or _generated_key(gw.settings.var_dir),
        SESSION_COOKIE_NAME="tiss_portal",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/portal",
        # CSRF is checked by the portal's own blueprints only: the SOAP endpoints are not Flask.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    csrf = CSRFProtect(app)
    try:
        limiter = Limiter(
            get_remote_address, app=app, storage_uri=settings.rate_limit_storage, default_limits=[]
        )
    except limits.errors.ConfigurationError as exc:  # e.g. redis:// without the redis package
        reason = str(exc).replace(settings.rate_limit_storage, "<url>")  # it may hold a password
        raise ConfigError(f"TISS_RATE_LIMIT_STORAGE cannot be used: {reason}") from None
    portal = context.Portal(gw, Mailer(settings.mail, gw.settings.var_dir), limiter)
    root = Blueprint(
        "portal",
        __name__,
        url_prefix="/portal",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    for child in (public, account, candidate, staff, provider):
        root.register_blueprint(child.blueprint(portal))
    _hooks(root, portal, csrf)
    filters.register(app, gw)
    app.register_blueprint(root)
    return functools.partial(_error_page, portal)


def _generated_key(var_dir: Path) -> str:
    """Without TISS_SECRET_KEY, a random key made once and kept in TISS_VAR_DIR/secret_key: fine
    for one host (its workers share the file); several hosts need the same TISS_SECRET_KEY."""
    path = Path(var_dir) / "secret_key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            log.warning("TISS_SECRET_KEY not set: generated %s (set it on every host)", path)
        return path.read_text().strip()
    except FileExistsError:  # another worker made it first
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"TISS_SECRET_KEY not set and {path} not writable: {exc}") from exc


def _hooks(root: Blueprint, portal: context.Portal, csrf: CSRFProtect) -> None:
    @root.before_request
    def load_user():
        g.user = None
        if request.endpoint == "portal.static":
            return  # the stylesheet needs no session (and no database round trip)
        csrf.protect()
        _load_user(portal)

    root.after_request(_security_headers)

    @root.errorhandler(CSRFError)
    def csrf_error(_exc):
        message = (
            "O formulário expirou ou não veio desta página. Recarregue a página e tente de novo."
        )
        return render_template(
            "portal/error.html", title="Formulário expirado", message=message
        ), 400

    @root.errorhandler(429)
    def too_many(_exc):
        limit = _limit_text(portal.gw.settings.portal.login_rate_limit)
        message = (
            f"Muitas tentativas em pouco tempo. O limite é de {limit}: aguarde e tente novamente."
        )
        return render_template("portal/error.html", title="Aguarde um pouco", message=message), 429

    @root.errorhandler(413)
    def too_large(_exc):
        message = "O arquivo enviado é grande demais."
        return render_template(
            "portal/error.html", title="Arquivo grande demais", message=message
        ), 413

    @root.errorhandler(403)
    def forbidden(_exc):
        message = "Esta página não está disponível para a sua conta."
        return render_template(
            "portal/error.html", title="Acesso não permitido", message=message
        ), 403


def _load_user(portal: context.Portal) -> None:
    """g.user: the account of the session cookie, or None (an expired session is ended)."""
    g.user = None
    token = session.get(SESSION_KEY)
    if not token:
        return
    try:
        g.user = resume(portal.db, token, portal.now(), context.origin())
    except SessionExpired:
        g.session_expired = True
        flash("Sua sessão foi encerrada após 30 minutos sem atividade. Entre novamente.", "info")
    if g.user is None:
        session.pop(SESSION_KEY, None)


_ERROR_PAGES = {
    404: ("Não encontrado", "A página ou o registro procurado não existe."),
    405: ("Ação não permitida", "Esta página não aceita esse tipo de envio."),
    500: (
        "Erro inesperado",
        "Não foi possível concluir a operação. Tente novamente em alguns minutos; "
        "se o erro continuar, fale com a operadora.",
    ),
}


def _error_page(portal: context.Portal, status: int) -> Response:
    """The portal's page for `status`. A URL no route matched never ran the portal's hooks: the
    user is loaded here so that the page still shows who is signed in."""
    if "user" not in g:
        try:
            _load_user(portal)
        except Exception:  # the page that says something failed must not fail itself
            log.exception("could not load the user for an error page")
            g.user = None
    title, message = _ERROR_PAGES[status]
    page = make_response(render_template("portal/error.html", title=title, message=message), status)
    return _security_headers(page)  # nor did its after_request hook run


def _security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Reset links carry their token in the path: never hand it to another site.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if g.get("user") is not None or response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


_UNITS = {
    "second": ("segundo", "segundos"),
    "minute": ("minuto", "minutos"),
    "hour": ("hora", "horas"),
    "day": ("dia", "dias"),
    "month": ("mês", "meses"),
    "year": ("ano", "anos"),
}


def _limit_text(setting: str) -> str:
    """TISS_LOGIN_RATE_LIMIT ("10 per minute", "2/hour") in Portuguese: "10 por minuto"."""
    limit = limits.parse_many(setting)[0]
    one, many = _UNITS.get(limit.GRANULARITY.name, (limit.GRANULARITY.name,) * 2)
    every = f"por {one}" if limit.multiples == 1 else f"a cada {limit.multiples} {many}"
    return f"{limit.amount} tentativas {every}"
