"""What every portal view needs: the gateway, the mailer, the rate limiter, the current user and
where the request came from. Views stay thin: read the form, call a use case, render."""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, request, url_for
from flask_limiter import Limiter

from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.sessions import CurrentUser
from gateway.services.gateway import Gateway
from gateway.services.mail import Mailer


@dataclass
class Portal:
    gw: Gateway
    mailer: Mailer
    limiter: Limiter

    @property
    def db(self):
        return self.gw.db

    def now(self):
        return self.gw.utcnow()

    @property
    def max_upload_bytes(self) -> int:
        return self.gw.settings.portal.max_upload_bytes

    def mail_base_url(self) -> str | None:
        """The base of the links the portal mails: TISS_PUBLIC_URL. Without it, this request's
        own address only when that is this machine (`make run`), else None: the Host header is
        the sender's to choose, and a reset link must never point at a host someone else picked
        (password-reset poisoning)."""
        if self.gw.settings.public_url:
            return self.gw.settings.public_url
        return request.host_url.rstrip("/") if _is_loopback(request.host) else None

    def sensitive_limit(self):
        """The rate limit of logins, registrations and reset requests (per client address)."""
        return self.limiter.limit(self.gw.settings.portal.login_rate_limit, methods=["POST"])


def _is_loopback(host: str) -> bool:
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin() -> Origin:
    return Origin(request.remote_addr, (request.user_agent.string or "")[:300] or None)


def user() -> CurrentUser | None:
    return g.get("user")


def home_url(current: CurrentUser) -> str:
    if current.kind == "staff":
        return url_for("portal.staff.queue")
    # The provider area sends a delegate without a delegation in force to Relacionamentos.
    if current.kind == "delegate" or current.provider_id:
        return url_for("portal.prestador.home")
    return url_for("portal.candidate.overview")


def safe_next(target: str | None) -> str | None:
    """Only paths of this portal, never another site (open redirect). Printable ASCII only: a
    control character would make the Location header unwritable (a 500 right after the login)."""
    if not target or not (target.isascii() and target.isprintable()):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/portal/") or "\\" in target:
        return None
    return target


def login_required(*kinds: str, allow_pending_change: bool = False) -> Callable:
    """Require a live session (and, given `kinds`, one of those account kinds). An account that
    must change its password (temporary, or older than 180 days) may only do that."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            current = user()
            if current is None:
                if not g.get("session_expired"):
                    flash("Entre com seu login e senha para continuar.", "info")
                return redirect(url_for("portal.public.login", next=request.full_path))
            if current.must_change and not allow_pending_change:
                return redirect(url_for("portal.account.change_password"))
            if kinds and current.kind not in kinds:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
