"""The operator staff's area: the queue of credentialing requests, one request with its data,
documents and history, the decisions on it, and access accounts (temporary password,
deactivation)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from gateway.portal.candidate import send_document
from gateway.portal.context import Portal, login_required, origin, user
from gateway.services.accounts import credentials
from gateway.services.accounts.authentication import find_account
from gateway.services.credentialing import catalog, queue
from gateway.services.validation import InvalidInput
from storage.models import Provider

STAFF = "staff"


def blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint("staff", __name__, url_prefix="/operadora")

    @bp.get("/", endpoint="queue")
    @login_required(STAFF)
    def queue_page():
        status = request.args.get("situacao") or None
        if status not in catalog.STATUS:
            status = None
        return render_template(
            "portal/staff_queue.html",
            items=queue.queue(portal.db, status),
            counts=queue.counts(portal.db),
            status=status,
        )

    @bp.get("/solicitacoes/<int:request_id>")
    @login_required(STAFF)
    def request_page(request_id: int, errors: dict | None = None, status: int = 200):
        try:
            found = queue.detail(portal.db, request_id)
        except InvalidInput:
            return render_template("portal/error.html", title="Não encontrada", message=""), 404
        return render_template(
            "portal/staff_request.html",
            req=found,
            errors=errors or {},
            form=request.form if errors else {},
            suggested_code=queue.suggested_code(portal.db, request_id),
        ), status

    @bp.post("/solicitacoes/<int:request_id>/decisao")
    @login_required(STAFF)
    def decide(request_id: int):
        action = request.form.get("action", "")
        try:
            queue.decide(
                portal.db,
                user().account_id,
                request_id,
                action,
                request.form.get("reason"),
                portal.now(),
                code=request.form.get("code"),
                mailer=portal.mailer,
            )
        except InvalidInput as exc:
            return request_page(request_id, errors=exc.errors, status=422)
        flash(f"Decisão registrada: {queue.ACTION_LABELS.get(action, action)}.", "success")
        return redirect(url_for("portal.staff.request_page", request_id=request_id))

    @bp.get("/documentos/<int:document_id>")
    @login_required(STAFF)
    def download(document_id: int):
        return send_document(portal, document_id)

    @bp.route("/contas", methods=["GET", "POST"])
    @login_required(STAFF)
    def accounts():
        typed = (request.values.get("login") or "").strip()
        found = None
        temporary = None
        if typed:
            with portal.db.reading() as s:
                account = find_account(s, typed)
                if account is not None and account.kind != STAFF:
                    provider = s.scalar(select(Provider).where(Provider.id == account.provider_id))
                    found = dict(
                        id=account.id,
                        login=account.login,
                        kind=account.kind,
                        name=account.name or (provider.name if provider else None),
                        email=account.email,
                        active=account.active,
                        must_change=account.must_change_password,
                        last_login_at=account.last_login_at,
                        provider=provider.codigo_na_operadora if provider else None,
                    )
        if request.method == "POST" and found is not None:
            action = request.form.get("action")
            if action == "temporary":
                temporary = credentials.issue_temporary_password(
                    portal.db, user().account_id, found["id"], portal.now(), origin()
                )
                found["must_change"] = True
            elif action in ("deactivate", "reactivate"):
                credentials.set_active(
                    portal.db,
                    user().account_id,
                    found["id"],
                    action == "reactivate",
                    portal.now(),
                    origin(),
                )
                found["active"] = action == "reactivate"
                flash("Conta reativada." if found["active"] else "Conta desativada.", "success")
        elif typed and found is None:
            flash("Nenhuma conta de prestador ou Secretária/o com esse login.", "error")
        return render_template(
            "portal/staff_accounts.html", login=typed, found=found, temporary=temporary
        )

    return bp
