"""Início (notices), the choice of provider for a delegate who works for several, and Meus
Dados."""

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from gateway.portal.context import Portal, login_required, safe_next, user
from gateway.portal.provider.area import ACTING_KEY, acting, area, choices
from gateway.services.credentialing import records
from gateway.services.provider_area import access, registration
from gateway.services.provider_area.home import notices


def register(bp: Blueprint, portal: Portal) -> None:
    @bp.get("/")
    @area(portal, access.HOME)
    def home():
        chosen = acting()
        approved = None
        if chosen.own:
            request_view = records.load(portal.db, user().account_id)
            if request_view is not None and request_view.status == "approved":
                approved = request_view
        return render_template(
            "portal/area/home.html",
            notices=notices(portal.db, chosen.provider_id),
            approved=approved,
            several=len(choices(portal)) > 1,
        )

    @bp.route("/atuar", methods=["GET", "POST"])
    @login_required("provider", "delegate")
    def choose():
        found = choices(portal)
        if request.method == "POST":
            wanted = request.form.get("provider_id", type=int)
            if wanted not in {c.provider_id for c in found}:
                abort(403)
            session[ACTING_KEY] = wanted
            target = safe_next(request.form.get("next")) or url_for("portal.prestador.home")
            return redirect(target)
        if not found:
            return redirect(url_for("portal.account.relationships"))
        return render_template(
            "portal/area/choose.html",
            found=found,
            current=session.get(ACTING_KEY),
            next=safe_next(request.args.get("next")) or "",
        )

    @bp.get("/meus-dados")
    @area(portal, access.MY_DATA)
    def my_data():
        data = registration.provider_data(portal.db, acting().provider_id)
        return render_template("portal/area/my_data.html", data=data)
