"""Pages anyone can open: the portal's home, "Credenciamento — Auto Cadastro", "Já tenho conta"
(login), "Esqueci minha senha", the Secretária/o's registration and the terms of use."""

import logging

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from gateway.portal.context import Portal, home_url, origin, safe_next, user
from gateway.services.accounts import authentication, registration, reset, sessions
from gateway.services.credentialing import registration as credentialing
from gateway.services.validation import InvalidInput

log = logging.getLogger(__name__)

SESSION_KEY = "sid"


def blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint("public", __name__)

    def start_session(logged: authentication.LoggedIn) -> None:
        # A new cookie at every login (no session fixation), holding only the session token.
        session.clear()
        session[SESSION_KEY] = logged.token

    @bp.get("/")
    def home():
        current = user()
        if current is not None:
            return redirect(home_url(current))
        return render_template("portal/home.html")

    @bp.route("/entrar", methods=["GET", "POST"])
    @portal.sensitive_limit()
    def login():
        if request.method == "GET":
            return render_template("portal/login.html", login="")
        typed = request.form.get("login", "")
        try:
            logged = authentication.login(
                portal.db,
                typed,
                request.form.get("password", ""),
                portal.now(),
                origin(),
                portal.mailer,
            )
        except authentication.LoginFailed as exc:
            return render_template("portal/login.html", login=typed, error=str(exc)), 401
        start_session(logged)
        last = logged.previous_login_at
        # Kept for "Minha conta" (item 42), which shows them for the whole session.
        session["failures_before"] = logged.failed_attempts
        if last is None:
            flash("Bem-vindo! Este é o seu primeiro acesso.", "info")
        else:
            local = portal.gw.local(last).strftime("%d/%m/%Y às %H:%M")
            session["previous_login"] = local
            flash(
                f"Último acesso em {local}. Tentativas sem sucesso desde então: "
                f"{logged.failed_attempts}.",
                "warning" if logged.failed_attempts else "info",
            )
        if logged.user.must_change:
            return redirect(url_for("portal.account.change_password"))
        return redirect(safe_next(request.args.get("next")) or home_url(logged.user))

    @bp.post("/sair")
    def logout():
        token = session.get(SESSION_KEY)
        if token:
            sessions.end_session(portal.db, token, portal.now(), origin())
        session.clear()
        flash("Você saiu do portal.", "info")
        return redirect(url_for("portal.public.login"))

    @bp.route("/credenciamento/auto-cadastro", methods=["GET", "POST"])
    @portal.sensitive_limit()
    def register():
        if request.method == "GET":
            kind = request.args.get("tipo", "PJ")
            return render_template("portal/register.html", form={"person_kind": kind}, errors={})
        try:
            credentialing.start(portal.db, request.form, portal.now(), origin())
            logged = authentication.login(
                portal.db,
                request.form.get("document", ""),
                request.form.get("password", ""),
                portal.now(),
                origin(),
            )
        except InvalidInput as exc:
            form = {k: v for k, v in request.form.items() if "password" not in k}
            return render_template("portal/register.html", form=form, errors=exc.errors), 422
        start_session(logged)
        flash("Conta criada. Agora preencha os dados do prestador.", "success")
        return redirect(url_for("portal.candidate.provider_data"))

    @bp.route("/secretaria/criar-conta", methods=["GET", "POST"])
    @portal.sensitive_limit()
    def delegate_signup():
        if request.method == "GET":
            return render_template("portal/delegate_signup.html", form={}, errors={})
        try:
            registration.register_delegate(portal.db, request.form, portal.now(), origin())
        except InvalidInput as exc:
            form = {k: v for k, v in request.form.items() if "password" not in k}
            return render_template("portal/delegate_signup.html", form=form, errors=exc.errors), 422
        flash(
            "Conta criada. Entre com seu e-mail e senha; o prestador poderá então convidá-lo "
            "em Relacionamentos.",
            "success",
        )
        return redirect(url_for("portal.public.login"))

    @bp.get("/termos")
    def terms():
        return render_template("portal/terms.html")

    @bp.route("/esqueci-senha", methods=["GET", "POST"])
    @portal.sensitive_limit()
    def forgot():
        if request.method == "GET":
            return render_template("portal/forgot.html")
        base = portal.mail_base_url()
        if base is None:
            # The same page either way: it never tells whether the login exists.
            log.error(
                "password reset link not mailed: set TISS_PUBLIC_URL (the request came to a host "
                "that is not this machine, and its Host header cannot be trusted for the link)"
            )
            return render_template("portal/forgot.html", sent=True)
        reset.request_reset(
            portal.db,
            portal.mailer,
            request.form.get("login", ""),
            lambda token: base + url_for("portal.public.reset_password", token=token),
            portal.now(),
            origin(),
        )
        return render_template("portal/forgot.html", sent=True)

    # The token travels in the query string, never in the path: paths are written to the access
    # logs (the gateway's, Flask's error lines, nginx's), query strings nowhere, and whoever
    # reads a log must not be able to take an account over within the link's hour.
    @bp.route("/senha/redefinir", methods=["GET", "POST"])
    def reset_password():
        token = request.args.get("token", "")
        try:
            login = reset.check_token(portal.db, token, portal.now())
            if request.method == "POST":
                reset.reset_password(
                    portal.db,
                    token,
                    request.form.get("password", ""),
                    request.form.get("password_confirm", ""),
                    portal.now(),
                    origin(),
                )
                flash("Senha redefinida. Entre com a nova senha.", "success")
                return redirect(url_for("portal.public.login"))
        except InvalidInput as exc:
            if "token" in exc.errors:
                return render_template("portal/reset.html", invalid=exc.errors["token"]), 410
            return render_template("portal/reset.html", login=login, errors=exc.errors), 422
        return render_template("portal/reset.html", login=login, errors={})

    return bp
