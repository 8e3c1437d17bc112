"""Minha conta (last login, failed attempts, access log, password change) and Relacionamentos
(a provider's delegates; a Secretária/o's invitations)."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from gateway.portal.context import Portal, login_required, origin, user
from gateway.services.accounts import access_log, credentials, delegation, policy
from gateway.services.validation import Fields, InvalidInput
from storage.models import Account

SESSION_KEY = "sid"


def blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint("account", __name__, url_prefix="/conta")

    @bp.get("/")
    @login_required()
    def overview():
        current = user()
        with portal.db.reading() as s:
            account = s.get(Account, current.account_id)
            changed_at = account.password_changed_at
        return render_template(
            "portal/account.html",
            password_changed_at=changed_at,
            password_expires_at=changed_at + policy.MAX_AGE,
            entries=access_log.recent(portal.db, current.account_id),
        )

    @bp.route("/senha", methods=["GET", "POST"])
    @login_required(allow_pending_change=True)
    def change_password():
        current = user()
        if request.method == "POST":
            try:
                credentials.change_password(
                    portal.db,
                    current.account_id,
                    request.form.get("current", ""),
                    request.form.get("password", ""),
                    request.form.get("password_confirm", ""),
                    portal.now(),
                    origin(),
                    keep_session=session.get(SESSION_KEY),
                )
            except InvalidInput as exc:
                return render_template("portal/change_password.html", errors=exc.errors), 422
            flash("Senha alterada. Ela também vale no envio de mensagens TISS.", "success")
            return redirect(url_for("portal.account.overview"))
        return render_template("portal/change_password.html", errors={})

    def manageable_providers(current) -> list:
        with portal.db.reading() as s:
            account = s.get(Account, current.account_id)
            return [
                (p.id, p.name, p.codigo_na_operadora)
                for p in delegation.providers_for(s, account, delegation.MANAGE, portal.now())
            ]

    @bp.get("/relacionamentos")
    @login_required("provider", "delegate")
    def relationships():
        current = user()
        providers = manageable_providers(current)
        managed = {
            pid: delegation.list_for_provider(portal.db, pid, portal.now()) for pid, *_ in providers
        }
        return render_template(
            "portal/relationships.html",
            providers=providers,
            managed=managed,
            mine=delegation.list_for_delegate(portal.db, current.account_id, portal.now()),
            roles=delegation.ROLES,
        )

    @bp.post("/relacionamentos/convidar")
    @login_required("provider", "delegate")
    def invite():
        try:
            provider_id = int(request.form.get("provider_id", "0"))
            delegation.invite(
                portal.db,
                user().account_id,
                provider_id,
                request.form.get("who", ""),
                request.form.getlist("roles"),
                portal.now(),
            )
            flash("Convite enviado. A pessoa precisa aceitá-lo ao entrar no portal.", "success")
        except (InvalidInput, ValueError) as exc:
            flash(_message(exc), "error")
        return redirect(url_for("portal.account.relationships"))

    @bp.post("/relacionamentos/<int:delegation_id>/responder")
    @login_required("delegate")
    def respond(delegation_id: int):
        fields = Fields(request.form)
        accept = request.form.get("answer") == "accept"
        until = None
        if accept and request.form.get("period") == "until":
            until = fields.date("until")
        try:
            fields.check()
            delegation.respond(
                portal.db, user().account_id, delegation_id, accept, until, portal.now()
            )
            flash("Convite aceito." if accept else "Convite recusado.", "success")
        except InvalidInput as exc:
            flash(_message(exc), "error")
        return redirect(url_for("portal.account.relationships"))

    @bp.post("/relacionamentos/<int:delegation_id>/encerrar")
    @login_required("provider", "delegate")
    def revoke(delegation_id: int):
        try:
            delegation.revoke(portal.db, user().account_id, delegation_id, portal.now())
            flash("Relacionamento encerrado.", "success")
        except InvalidInput as exc:
            flash(_message(exc), "error")
        return redirect(url_for("portal.account.relationships"))

    return bp


def _message(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return " ".join(exc.errors.values())
    return "Dados inválidos."
