"""The security rules of TISS.md for portal accounts, through the portal's pages: password policy,
lockout, generic message, last login and failures shown, 180-day change, no reuse of the last 3,
idle timeout, CSRF, cookies, rate limit, reset link, temporary password, access log."""

import dataclasses
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.test import Client

from gateway.app import build_app
from gateway.config_portal import PortalSettings
from gateway.services.accounts import access_log, policy
from gateway.services.gateway import Gateway
from gateway.services.validation import InvalidInput
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account
from storage.portal_models import AccessLogEntry, PortalSession
from tests import portal_support as ps
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import Provider as TissProvider
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

A_LOGIN, A_PASSWORD = PROVIDER_A.cnpj, PROVIDER_A.password


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def clock(gw, monkeypatch):
    """Moves the gateway's clock forward: clock(minutes=31)."""
    start = ps.now()

    def advance(**delta):
        moment = start + timedelta(**delta)
        monkeypatch.setattr(gw, "utcnow", lambda: moment)
        return moment

    return advance


def events(gw, login: str) -> list[str]:
    with gw.db.reading() as session:
        account_id = session.scalar(select(Account.id).where(Account.login == login))
        return list(
            session.scalars(
                select(AccessLogEntry.event)
                .where(AccessLogEntry.account_id == account_id)
                .order_by(AccessLogEntry.id)
            )
        )


@pytest.mark.parametrize(
    "password, ok",
    [
        ("Curta@1", False),  # 7 characters
        ("semmaiuscula@1", False),
        ("SEMMINUSCULA@1", False),
        ("SemDigito@!", False),
        ("SemSimbolo12", False),
        ("Valida@2026", True),
        ("Outra Boa#9x", True),
    ],
)
def test_password_policy(password, ok):
    if ok:
        policy.check_policy(password)
    else:
        with pytest.raises(InvalidInput):
            policy.check_policy(password)


def test_temporary_passwords_meet_the_policy():
    for _ in range(50):
        policy.check_policy(policy.temporary_password())


def test_login_shows_last_login_and_failures(client, gw):
    ps.login(client, A_LOGIN, "Errada@123")
    ps.login(client, A_LOGIN, "Errada@123")
    first = ps.login(client, A_LOGIN, A_PASSWORD)
    assert first.status_code == 302
    assert "primeiro acesso" in ps.text(client.get("/portal/conta/"))
    ps.logout(client)
    ps.login(client, A_LOGIN, "Errada@123")
    ps.login(client, A_LOGIN, A_PASSWORD)
    page = ps.text(client.get("/portal/conta/"))
    assert "Último acesso em" in page
    assert "Tentativas sem sucesso desde então: 1" in page
    assert re.search(r"Tentativas sem sucesso antes deste acesso</dt><dd>1<", page)
    assert "Tentativa de acesso sem sucesso" in page  # the access log, shown to its owner


def test_one_generic_message_for_every_failure(client, gw):
    with gw.db.transaction() as session:
        session.execute(
            update(Account).where(Account.login == PROVIDER_A.cnpj).values(active=False)
        )
    answers = [
        ps.login(client, "00000000000000", "Qualquer@1"),  # unknown
        ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password),  # inactive
    ]
    with gw.db.transaction() as session:
        session.execute(update(Account).where(Account.login == PROVIDER_A.cnpj).values(active=True))
    answers.append(ps.login(client, PROVIDER_A.cnpj, "Errada@123"))  # wrong password
    for answer in answers:
        assert answer.status_code == 401
        assert "Login ou senha inválidos." in ps.text(answer)
    bodies = {re.sub(r'value="[^"]*"', "", ps.text(a)) for a in answers}
    assert len({b.replace(PROVIDER_A.cnpj, "").replace("00000000000000", "") for b in bodies}) == 1


def test_lock_after_five_failures(client, gw, clock):
    clock(minutes=0)
    for _ in range(policy.MAX_FAILURES):
        assert ps.login(client, A_LOGIN, "Errada@123").status_code == 401
    locked = ps.login(client, A_LOGIN, A_PASSWORD)  # right password, still refused
    assert locked.status_code == 401 and "Login ou senha inválidos." in ps.text(locked)
    assert "account_locked" in events(gw, A_LOGIN)
    assert "login_refused_locked" in events(gw, A_LOGIN)
    clock(minutes=14)
    assert ps.login(client, A_LOGIN, A_PASSWORD).status_code == 401
    clock(minutes=16)
    assert ps.login(client, A_LOGIN, A_PASSWORD).status_code == 302
    with gw.db.reading() as session:
        account = session.scalar(select(Account).where(Account.login == A_LOGIN))
        assert account.failed_attempts == 0 and account.locked_until is None


def test_idle_session_ends_after_30_minutes(client, gw, clock):
    clock(minutes=0)
    ps.login(client, A_LOGIN, A_PASSWORD)
    clock(minutes=29)
    assert client.get("/portal/conta/").status_code == 200
    clock(minutes=29 + 31)
    expired = client.get("/portal/conta/")
    assert expired.status_code == 302 and "/portal/entrar" in expired.headers["Location"]
    assert "30 minutos sem atividade" in ps.text(client.get(expired.headers["Location"]))
    with gw.db.reading() as session:
        assert session.scalar(select(PortalSession.end_reason)) == "idle"
    assert "session_expired" in events(gw, A_LOGIN)
    assert client.get("/portal/conta/").status_code == 302  # the session stays ended


def test_logout_ends_the_session_on_the_server(client, gw):
    ps.login(client, A_LOGIN, A_PASSWORD)
    cookie = client.get_cookie("tiss_portal", path="/portal")
    ps.logout(client)
    stolen = Client(client.application)
    stolen.set_cookie("tiss_portal", cookie.value, path="/portal")
    assert stolen.get("/portal/conta/").status_code == 302


def test_csrf_token_is_required(client, gw):
    refused = client.post("/portal/entrar", data={"login": A_LOGIN, "password": A_PASSWORD})
    assert refused.status_code == 400
    assert "Formulário expirado" in ps.text(refused)
    ps.login(client, A_LOGIN, A_PASSWORD)
    forged = client.post(
        "/portal/conta/senha",
        data={"current": A_PASSWORD, "password": "Nova@Senha1", "password_confirm": "Nova@Senha1"},
    )
    assert forged.status_code == 400


def test_session_cookie_flags(gw):
    settings = dataclasses.replace(
        gw.settings, portal=dataclasses.replace(ps.PORTAL_SETTINGS, cookie_secure=True)
    )
    secure = Client(build_app(Gateway(settings=settings, db=gw.db, schemas=gw.schemas)))
    response = secure.get("/portal/entrar")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/portal" in cookie


def test_login_rate_limit(gw):
    settings = dataclasses.replace(
        gw.settings,
        portal=dataclasses.replace(ps.PORTAL_SETTINGS, login_rate_limit="3 per minute"),
    )
    limited = Client(build_app(Gateway(settings=settings, db=gw.db, schemas=gw.schemas)))
    codes = [ps.login(limited, "00000000000000", "Errada@123").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_password_expires_after_180_days(client, gw):
    with gw.db.transaction() as session:
        session.execute(
            update(Account)
            .where(Account.login == A_LOGIN)
            .values(password_changed_at=ps.now() - timedelta(days=181))
        )
    response = ps.login(client, A_LOGIN, A_PASSWORD)
    assert response.headers["Location"].endswith("/portal/conta/senha")
    assert client.get("/portal/credenciamento/").headers["Location"].endswith("/conta/senha")
    assert "mais de 180 dias" in ps.text(client.get("/portal/conta/senha"))
    changed = ps.post(
        client,
        "/portal/conta/senha",
        {"current": A_PASSWORD, "password": "Renovada@2027", "password_confirm": "Renovada@2027"},
    )
    assert changed.status_code == 302
    assert client.get("/portal/credenciamento/").status_code == 200


def test_no_reuse_of_the_last_three(client, gw):
    ps.login(client, A_LOGIN, A_PASSWORD)

    def change(current, new):
        return ps.post(
            client,
            "/portal/conta/senha",
            {"current": current, "password": new, "password_confirm": new},
        )

    assert change(A_PASSWORD, A_PASSWORD).status_code == 422
    assert change(A_PASSWORD, "Segunda@222").status_code == 302
    assert change("Segunda@222", "Terceira@333").status_code == 302
    refused = change("Terceira@333", A_PASSWORD)  # still among the last 3
    assert refused.status_code == 422 and "últimas 3" in ps.text(refused)
    assert change("Terceira@333", "Quarta@4444").status_code == 302
    assert change("Quarta@4444", A_PASSWORD).status_code == 302  # 4 changes ago: allowed again
    wrong = change("Errada@0000", "Quinta@55555")
    assert wrong.status_code == 422 and "Senha atual incorreta" in ps.text(wrong)
    assert events(gw, A_LOGIN).count("password_changed") == 4


def test_password_change_reaches_the_web_service(client, gw):
    ps.login(client, A_LOGIN, A_PASSWORD)
    ps.post(
        client,
        "/portal/conta/senha",
        {"current": A_PASSWORD, "password": "Trocada@2026", "password_confirm": "Trocada@2026"},
    )
    old = post_soap(client, lote_guias_ws(sample_lot(PROVIDER_A, "1", registro_ans=REGISTRO_ANS)))
    assert old.tiss_fault == "LoginInvalido"
    renewed = dataclasses.replace(PROVIDER_A, password="Trocada@2026")
    new = post_soap(client, lote_guias_ws(sample_lot(renewed, "1", registro_ans=REGISTRO_ANS)))
    assert not new.is_fault


def reset_link(outbox) -> str:
    (mail,) = sorted(outbox.glob("*.eml"))[-1:]
    found = re.search(r"http://localhost(/portal/senha/redefinir\?token=[\w-]+)", mail.read_text())
    assert found, mail.read_text()
    return found.group(1)


def set_email(gw, login: str, email: str) -> None:
    with gw.db.transaction() as session:
        session.execute(update(Account).where(Account.login == login).values(email=email))


def test_reset_link(client, gw, clock):
    clock(minutes=0)
    set_email(gw, A_LOGIN, "faturamento@hospitala.com.br")
    outbox = gw.settings.var_dir / "outbox"
    unknown = ps.post(client, "/portal/esqueci-senha", {"login": "99999999999999"})
    known = ps.post(client, "/portal/esqueci-senha", {"login": "11.222.333/0001-81"})
    assert ps.text(unknown) == ps.text(known).replace(PROVIDER_A.cnpj, "")  # says nothing
    assert len(list(outbox.glob("*.eml"))) == 1
    link = reset_link(outbox)
    page = client.get(link)
    assert "11222333000181" in ps.text(page), (page.status_code, ps.text(page)[1500:3500])
    weak = ps.post(client, link, {"password": "fraca", "password_confirm": "fraca"})
    assert weak.status_code == 422
    done = ps.post(client, link, {"password": "Redefinida@1", "password_confirm": "Redefinida@1"})
    assert done.status_code == 302
    assert client.get(link).status_code == 410  # used once
    assert ps.login(client, A_LOGIN, "Redefinida@1").status_code == 302
    assert "password_reset" in events(gw, A_LOGIN)
    with gw.db.reading() as session:
        stored = session.scalars(select(AccessLogEntry.detail)).all()
    assert not any(link.rsplit("/", 1)[1] in (d or "") for d in stored)


def test_reset_link_expires(client, gw, clock):
    clock(minutes=0)
    set_email(gw, A_LOGIN, "faturamento@hospitala.com.br")
    ps.post(client, "/portal/esqueci-senha", {"login": A_LOGIN})
    link = reset_link(gw.settings.var_dir / "outbox")
    clock(minutes=61)
    expired = client.get(link)
    assert expired.status_code == 410 and "expirou" in ps.text(expired)
    assert client.get("/portal/senha/redefinir?token=inventado").status_code == 410


def test_temporary_password_must_be_changed_at_first_access(client, gw):
    ps.make_staff(gw)
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    page = ps.post(
        client,
        "/portal/operadora/contas",
        {"login": A_LOGIN, "action": "temporary"},
        token_from=f"/portal/operadora/contas?login={A_LOGIN}",
    )
    shown = re.search(r'data-testid="temporary-password">([^<]+)<', ps.text(page)).group(1)
    temporary = html.unescape(shown)
    ps.logout(client)
    assert ps.login(client, A_LOGIN, A_PASSWORD).status_code == 401  # the old one is gone
    first = ps.login(client, A_LOGIN, temporary)
    assert first.headers["Location"].endswith("/portal/conta/senha")
    assert client.get("/portal/conta/").headers["Location"].endswith("/portal/conta/senha")
    assert "senha temporária" in ps.text(client.get("/portal/conta/senha"))
    ps.post(
        client,
        "/portal/conta/senha",
        {"current": temporary, "password": "MinhaNova@1", "password_confirm": "MinhaNova@1"},
    )
    assert client.get("/portal/conta/").status_code == 200
    assert "temporary_password" in events(gw, A_LOGIN)


def test_deactivated_account_cannot_log_in(client, gw):
    ps.make_staff(gw)
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    ps.post(
        client,
        "/portal/operadora/contas",
        {"login": A_LOGIN, "action": "deactivate"},
        token_from=f"/portal/operadora/contas?login={A_LOGIN}",
    )
    ps.logout(client)
    assert ps.login(client, A_LOGIN, A_PASSWORD).status_code == 401
    lot = post_soap(client, lote_guias_ws(sample_lot(PROVIDER_A, "1", registro_ans=REGISTRO_ANS)))
    assert lot.tiss_fault == "LoginInvalido"


def test_access_log_is_append_only_and_pruned_after_90_days(gw):
    with gw.db.transaction() as session:
        for age in (91, 89):
            access_log.record(session, "login_ok", ps.now() - timedelta(days=age), ps.ORIGIN)
    with pytest.raises(PermissionError), gw.db.transaction() as session:
        session.scalars(select(AccessLogEntry)).first().event = "forged"
    with pytest.raises(PermissionError), gw.db.transaction() as session:
        session.delete(session.scalars(select(AccessLogEntry)).first())
    pruned = access_log.prune(gw.db, ps.now())
    assert pruned.access_log == 1
    with gw.db.reading() as session:
        assert len(session.scalars(select(AccessLogEntry)).all()) == 1


def test_candidate_credentials_are_not_a_web_service_login_yet(client, gw):
    ps.candidate_submitted(gw)
    tiss = TissProvider(ps.CANDIDATE_CNPJ, "X", "Candidato", ps.CANDIDATE_PASSWORD)
    answer = post_soap(client, lote_guias_ws(sample_lot(tiss, "1", registro_ans=REGISTRO_ANS)))
    assert answer.tiss_fault == "LoginInvalido"


def test_settings_refuse_a_short_secret_key(monkeypatch):
    from gateway.config import ConfigError

    monkeypatch.setenv("TISS_SECRET_KEY", "curta")
    with pytest.raises(ConfigError):
        PortalSettings.from_env()


def test_prune_command(gw, database_url, monkeypatch, capsys):
    from gateway.cli import main

    with gw.db.transaction() as session:
        access_log.record(session, "login_ok", ps.now() - timedelta(days=120), ps.ORIGIN)
    monkeypatch.setenv("TISS_DATABASE_URL", database_url)
    assert main(["portal", "prune"]) == 0
    assert "pruned 1 access-log entries" in capsys.readouterr().out
