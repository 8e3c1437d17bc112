"""What every page of the provider area needs: the provider the user acts for (a delegate may
work for several and picks one), the check that its roles open the page, and the left menu."""

from collections.abc import Callable
from functools import wraps

from flask import abort, g, redirect, request, session, url_for

from gateway.portal.context import Portal, login_required, user
from gateway.services.provider_area import access
from gateway.services.provider_area.access import Acting

ACTING_KEY = "acting_provider"

# The left menu of seed 004, in its order: (endpoint, label, feature).
MENU = (
    ("portal.prestador.home", "Início", access.HOME),
    ("portal.prestador.my_data", "Meus Dados", access.MY_DATA),
    ("portal.prestador.upload", "Envio de Arquivo XML", access.UPLOAD),
    ("portal.prestador.files", "Consultar Arquivos", access.FILES),
    ("portal.prestador.status", "Status do Protocolo", access.STATUS),
    ("portal.prestador.capa", "Capa de Lote", access.CAPA),
    ("portal.prestador.statements", "Demonstrativos", access.STATEMENTS),
    ("portal.prestador.eligibility", "Elegibilidade", access.ELIGIBILITY),
    ("portal.prestador.typing", "Digitação de Guias", access.TYPING),
)


def choices(portal: Portal) -> tuple[Acting, ...]:
    if "acting_choices" not in g:
        g.acting_choices = access.acting_choices(portal.db, user().account_id, portal.now())
    return g.acting_choices


def acting() -> Acting:
    """The provider of this request (set by `area`)."""
    return g.acting


def current() -> Acting | None:
    return g.get("acting")


def known_choices() -> tuple[Acting, ...]:
    """The choices already read in this request (none read: none shown)."""
    return g.get("acting_choices", ())


def area(portal: Portal, feature: str) -> Callable:
    """A page of the provider area: a live session, a provider to act for, a role that opens
    `feature`. Another provider's records are never reachable: every use case below is scoped to
    acting().provider_id."""

    def decorator(view):
        @wraps(view)
        @login_required("provider", "delegate")
        def wrapped(*args, **kwargs):
            found = choices(portal)
            if not found:
                # Not (or no longer) credentialed, or no delegation in force.
                if user().kind == "provider":
                    return redirect(url_for("portal.candidate.overview"))
                return redirect(url_for("portal.account.relationships"))
            chosen = access.pick(found, session.get(ACTING_KEY))
            if chosen is None:
                return redirect(url_for("portal.prestador.choose", next=request.full_path))
            if not chosen.may(feature):
                abort(403)
            g.acting = chosen
            return view(*args, **kwargs)

        return wrapped

    return decorator


def menu() -> list[tuple[str, str, bool]]:
    """(endpoint, label, current) of every page the acting provider's roles open."""
    chosen = g.get("acting")
    if chosen is None:
        return []
    return [
        (endpoint, label, request.endpoint == endpoint or _section(request.endpoint) == endpoint)
        for endpoint, label, feature in MENU
        if chosen.may(feature)
    ]


# Pages under a menu entry (details, downloads) keep that entry highlighted.
_SECTIONS = {
    "portal.prestador.file_detail": "portal.prestador.files",
    "portal.prestador.typed_protocol": "portal.prestador.typing",
    "portal.prestador.typed_guide": "portal.prestador.typing",
    "portal.prestador.new_guide": "portal.prestador.typing",
    "portal.prestador.send_typed": "portal.prestador.typing",
    "portal.prestador.payment_statement_pdf": "portal.prestador.statements",
}


def _section(endpoint: str | None) -> str | None:
    return _SECTIONS.get(endpoint or "")
