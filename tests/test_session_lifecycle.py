"""The portal's account and session lifecycle, checked through HTTP the way an operator's security
reviewer would: an open session must respect what changed elsewhere (password changed or reset,
temporary password, deactivation, expiry, a delegation ended, expired or narrowed, the provider
suspended); reset links die when they should and never leave the site; a login gives a new
session and logging out really ends it; every POST of the portal needs the CSRF token of its own
session; authenticated answers are not cached.

What tests/test_portal_accounts.py, test_portal_delegation.py, test_provider_area_access.py and
test_portal_error_paths.py already check (one generic login message, lock after five failures,
idle timeout, logout replay with GET, reset link used once and expiring, cookie flags with
TISS_COOKIE_SECURE, the common open-redirect targets) is not repeated here."""

import dataclasses
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.test import Client

from gateway.app import build_app
from gateway.services import passwords
from gateway.services.accounts import credentials, delegation
from gateway.services.accounts import registration as accounts
from gateway.services.gateway import Gateway
from gateway.tiss.samples import lote_guias_ws
from storage import models
from storage.models import Account, Base
from storage.portal_models import Delegation, PortalSession
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

AREA = pa.AREA
A_LOGIN, A_PASSWORD = PROVIDER_A.cnpj, PROVIDER_A.password
A_EMAIL = "faturamento@hospitala.com.br"
NEW_PASSWORD = "Redefinida@2026"
LINK = re.compile(r"https?://[^\s/]+(/portal/senha/redefinir\?token=[\w-]+)")
SECOND_DELEGATE_CPF = "99351819019"
SECOND_DELEGATE_EMAIL = "joao.recepcao@example.com"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def clock(gw, monkeypatch):
    """Sets the gateway's clock: clock(moment) or clock(minutes=31) from the test's start."""
    start = ps.now()

    def set_to(moment=None, **delta):
        moment = moment or start + timedelta(**delta)
        monkeypatch.setattr(gw, "utcnow", lambda: moment)
        return moment

    return set_to


# Helpers ------------------------------------------------------------------------------------


def signed_in(gw, login: str, password: str) -> Client:
    """A browser of its own, signed in."""
    browser = Client(build_app(gw))
    response = ps.login(browser, login, password)
    assert response.status_code == 302, ps.text(response)
    return browser


def is_signed_in(browser) -> bool:
    response = browser.get("/portal/conta/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/portal/entrar" in response.headers["Location"]
    return False


def password_works(gw, login: str, password: str) -> bool:
    return ps.login(Client(build_app(gw)), login, password).status_code == 302


def session_end_reasons(gw, login: str) -> list[str | None]:
    with gw.db.reading() as s:
        account = s.scalar(select(Account.id).where(Account.login == login))
        return list(
            s.scalars(
                select(PortalSession.end_reason)
                .where(PortalSession.account_id == account)
                .order_by(PortalSession.id)
            )
        )


def set_email(gw, login: str, email: str) -> None:
    with gw.db.transaction() as s:
        s.execute(update(Account).where(Account.login == login).values(email=email))


def mailed_links(gw) -> list[str]:
    """Every reset link in the outbox, as mailed (absolute)."""
    found = []
    for mail in sorted((gw.settings.var_dir / "outbox").glob("*.eml")):
        found += re.findall(r"https?://\S+/portal/senha/redefinir\?token=[\w-]+", mail.read_text())
    return found


def ask_reset_link(gw, login: str = A_LOGIN) -> str:
    """'Esqueci minha senha' in a browser of its own; the path of the link that was mailed."""
    before = set(mailed_links(gw))
    browser = Client(build_app(gw))
    ps.post(browser, "/portal/esqueci-senha", {"login": login})
    (new,) = set(mailed_links(gw)) - before
    return LINK.match(new).group(1)


def reset_with(browser, link: str, password: str = NEW_PASSWORD):
    """Post a new password to a reset link (the token of a page that has a form: a dead link's
    page has none)."""
    return ps.post(
        browser,
        link,
        {"password": password, "password_confirm": password},
        token_from="/portal/esqueci-senha",
    )


def staff_browser(gw) -> Client:
    ps.make_staff(gw)
    return signed_in(gw, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)


def staff_action(browser, login: str, action: str):
    return ps.post(
        browser,
        "/portal/operadora/contas",
        {"login": login, "action": action},
        token_from=f"/portal/operadora/contas?login={login}",
    )


def provider_id(gw, provider) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(models.Provider.id).where(models.Provider.cnpj == provider.cnpj))


def delegation_of(gw, delegate_id: int) -> Delegation:
    with gw.db.reading() as s:
        return s.scalars(
            select(Delegation)
            .where(Delegation.delegate_account_id == delegate_id)
            .order_by(Delegation.id.desc())
        ).first()


def delegate_browser(gw) -> Client:
    browser = signed_in(gw, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    browser.get(f"{AREA}/")  # consumes the welcome message
    return browser


def register_second_delegate(gw) -> int:
    form = {
        "cpf": SECOND_DELEGATE_CPF,
        "email": SECOND_DELEGATE_EMAIL,
        "email_confirm": SECOND_DELEGATE_EMAIL,
        "name": "João Recepção",
        "password": ps.DELEGATE_PASSWORD,
        "password_confirm": ps.DELEGATE_PASSWORD,
        "terms": "on",
    }
    return accounts.register_delegate(gw.db, form, ps.now(), ps.ORIGIN)


def lot_by_password(client, provider, numero: str):
    return post_soap(client, lote_guias_ws(sample_lot(provider, numero, registro_ans=REGISTRO_ANS)))


def flask_app(browser):
    return browser.application.app.web  # Observed -> GatewayApp -> Flask


def cookie_data(browser) -> dict:
    """What the signed session cookie holds (readable, as Flask's cookies are)."""
    cookie = browser.get_cookie("tiss_portal", path="/portal")
    assert cookie is not None
    app = flask_app(browser)
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def snapshot(gw) -> dict:
    """Every row of every table: to show that a refused request wrote nothing."""
    with gw.db.reading() as s:
        return {
            table.name: sorted(map(repr, s.execute(table.select()).all()))
            for table in Base.metadata.sorted_tables
        }


# An open session and what changes elsewhere -------------------------------------------------


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(gw):
    office, home = signed_in(gw, A_LOGIN, A_PASSWORD), signed_in(gw, A_LOGIN, A_PASSWORD)
    changed = ps.post(
        office,
        "/portal/conta/senha",
        {"current": A_PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert is_signed_in(office)
    assert not is_signed_in(home)
    assert sorted(session_end_reasons(gw, A_LOGIN), key=str) == [None, "password"]


def test_a_reset_by_link_ends_open_sessions_and_lifts_the_lock(gw):
    set_email(gw, A_LOGIN, A_EMAIL)
    open_session = signed_in(gw, A_LOGIN, A_PASSWORD)
    guesser = Client(build_app(gw))
    for _ in range(5):
        assert ps.login(guesser, A_LOGIN, "Errada@123").status_code == 401
    assert not password_works(gw, A_LOGIN, A_PASSWORD)  # locked
    link = ask_reset_link(gw)
    browser = Client(build_app(gw))
    assert reset_with(browser, link).status_code == 302
    assert not is_signed_in(open_session)
    assert ps.login(browser, A_LOGIN, NEW_PASSWORD).status_code == 302  # no lock left
    assert not password_works(gw, A_LOGIN, A_PASSWORD)


def test_a_temporary_password_ends_the_holders_open_session(gw):
    holder = signed_in(gw, A_LOGIN, A_PASSWORD)
    page = staff_action(staff_browser(gw), A_LOGIN, "temporary")
    shown = re.search(r'data-testid="temporary-password">([^<]+)<', ps.text(page)).group(1)
    assert not is_signed_in(holder)
    assert password_works(gw, A_LOGIN, html.unescape(shown))


def test_deactivation_ends_the_open_session_and_reactivation_does_not_revive_it(gw):
    holder = signed_in(gw, A_LOGIN, A_PASSWORD)
    cookie = holder.get_cookie("tiss_portal", path="/portal").value
    staff = staff_browser(gw)
    staff_action(staff, A_LOGIN, "deactivate")
    assert not is_signed_in(holder)
    staff_action(staff, A_LOGIN, "reactivate")
    replay = Client(build_app(gw))
    replay.set_cookie("tiss_portal", cookie, path="/portal")
    assert not is_signed_in(replay)
    assert password_works(gw, A_LOGIN, A_PASSWORD)


def test_an_account_deactivated_in_the_database_loses_its_session_at_once(gw):
    """Staff accounts have no deactivation page: switching `active` off is the way."""
    staff = staff_browser(gw)
    assert staff.get("/portal/operadora/").status_code == 200
    with gw.db.transaction() as s:
        s.execute(update(Account).where(Account.login == ps.STAFF_LOGIN).values(active=False))
    answer = staff.get("/portal/operadora/")
    assert answer.status_code == 302 and "/portal/entrar" in answer.headers["Location"]
    assert session_end_reasons(gw, ps.STAFF_LOGIN) == ["inactive"]


def test_a_password_expiring_during_the_session_allows_only_its_change(gw):
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    token = ps.csrf_token(browser, "/portal/conta/relacionamentos")
    register_second_delegate(gw)
    with gw.db.transaction() as s:
        s.execute(
            update(Account)
            .where(Account.login == A_LOGIN)
            .values(password_changed_at=ps.now() - timedelta(days=181))
        )
    assert browser.get("/portal/conta/").headers["Location"].endswith("/portal/conta/senha")
    refused = browser.post(
        "/portal/conta/relacionamentos/convidar",
        data={
            "csrf_token": token,
            "provider_id": provider_id(gw, PROVIDER_A),
            "who": SECOND_DELEGATE_EMAIL,
            "roles": ["faturamento"],
        },
    )
    assert refused.headers["Location"].endswith("/portal/conta/senha")
    with gw.db.reading() as s:
        assert s.scalar(select(Delegation.id)) is None


def test_a_form_posted_with_a_cookie_kept_after_logout_does_nothing(gw):
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    token = ps.csrf_token(browser, "/portal/conta/senha")
    kept = browser.get_cookie("tiss_portal", path="/portal").value  # holds the CSRF secret too
    ps.logout(browser)
    thief = Client(build_app(gw))
    thief.set_cookie("tiss_portal", kept, path="/portal")
    answer = thief.post(
        "/portal/conta/senha",
        data={
            "csrf_token": token,
            "current": A_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert answer.status_code == 302 and "/portal/entrar" in answer.headers["Location"]
    assert password_works(gw, A_LOGIN, A_PASSWORD)


# Delegations and the provider's status, while the session is open --------------------------


def test_a_delegation_ended_by_the_provider_closes_the_delegates_open_pages(gw):
    delegate = ps.make_delegate(gw, A_LOGIN, ["faturamento"])
    browser = delegate_browser(gw)
    assert browser.get(f"{AREA}/arquivos").status_code == 200
    token = ps.csrf_token(browser, f"{AREA}/envio-xml")
    provider = signed_in(gw, A_LOGIN, A_PASSWORD)
    ended = ps.post(
        provider,
        f"/portal/conta/relacionamentos/{delegation_of(gw, delegate).id}/encerrar",
        {},
        token_from="/portal/conta/relacionamentos",
    )
    assert ended.status_code == 302
    assert (
        browser.get(f"{AREA}/arquivos")
        .headers["Location"]
        .endswith("/portal/conta/relacionamentos")
    )
    upload = browser.post(
        f"{AREA}/envio-xml",
        data={
            "csrf_token": token,
            "arquivo": (ps.io_bytes(pa.lot_file(PROVIDER_A, "X1")), "l.xml"),
        },
        content_type="multipart/form-data",
    )
    assert upload.headers["Location"].endswith("/portal/conta/relacionamentos")
    with gw.db.reading() as s:
        assert s.scalar(select(models.Message.id)) is None


def test_a_delegation_expiring_during_the_session_closes_the_area(gw, clock):
    delegate, invitation = ps.invite_delegate(gw, A_LOGIN, ["faturamento"])
    last_day = gw.local(ps.now()).date()
    delegation.respond(gw.db, delegate, invitation, True, last_day, ps.now())
    ends = delegation_of(gw, delegate).valid_until
    clock(ends - timedelta(minutes=5))
    browser = delegate_browser(gw)
    assert browser.get(f"{AREA}/arquivos").status_code == 200
    clock(ends + timedelta(minutes=1))  # 6 minutes later: the session itself is still alive
    answer = browser.get(f"{AREA}/arquivos")
    assert answer.headers["Location"].endswith("/portal/conta/relacionamentos")
    assert is_signed_in(browser)
    assert "Expirado" in ps.text(browser.get("/portal/conta/relacionamentos"))


def test_narrower_roles_apply_on_the_next_request(gw):
    delegate = ps.make_delegate(gw, A_LOGIN, ["faturamento", "atendimento"])
    browser = delegate_browser(gw)
    assert browser.get(f"{AREA}/arquivos").status_code == 200
    a_account = ps.account_id(gw, A_LOGIN)
    delegation.revoke(gw.db, a_account, delegation_of(gw, delegate).id, ps.now())
    again = delegation.invite(
        gw.db, a_account, provider_id(gw, PROVIDER_A), ps.DELEGATE_EMAIL, ["atendimento"], ps.now()
    )
    delegation.respond(gw.db, delegate, again, True, None, ps.now())
    assert browser.get(f"{AREA}/arquivos").status_code == 403
    assert browser.get(f"{AREA}/elegibilidade").status_code == 200
    assert ">Consultar Arquivos</a>" not in ps.text(browser.get(f"{AREA}/"))


def test_a_manager_delegate_stops_managing_as_soon_as_its_role_ends(gw):
    manager = ps.make_delegate(gw, A_LOGIN, ["relacionamentos"])
    second = register_second_delegate(gw)
    browser = delegate_browser(gw)
    page = "/portal/conta/relacionamentos"
    ps.post(
        browser,
        f"{page}/convidar",
        {
            "provider_id": provider_id(gw, PROVIDER_A),
            "who": SECOND_DELEGATE_EMAIL,
            "roles": "atendimento",
        },
        token_from=page,
    )
    invitation = delegation_of(gw, second)
    assert invitation is not None and invitation.status == "invited"  # it could manage
    delegation.revoke(gw.db, ps.account_id(gw, A_LOGIN), delegation_of(gw, manager).id, ps.now())
    before = snapshot(gw)
    ps.post(browser, f"{page}/{invitation.id}/encerrar", {}, token_from=page)
    ps.post(
        browser,
        f"{page}/convidar",
        {
            "provider_id": provider_id(gw, PROVIDER_A),
            "who": ps.DELEGATE_CPF,
            "roles": "faturamento",
        },
        token_from=page,
    )
    assert snapshot(gw) == before
    assert delegation_of(gw, second).status == "invited"


def test_a_suspended_provider_loses_its_area_in_open_sessions(gw, client):
    ps.make_delegate(gw, A_LOGIN, ["faturamento"])
    owner = signed_in(gw, A_LOGIN, A_PASSWORD)
    owner.get(f"{AREA}/")
    delegate = delegate_browser(gw)
    for browser in (owner, delegate):
        assert browser.get(f"{AREA}/arquivos").status_code == 200
    assert not lot_by_password(client, PROVIDER_A, "S0").is_fault
    with gw.db.transaction() as s:
        s.execute(
            update(models.Provider)
            .where(models.Provider.cnpj == A_LOGIN)
            .values(status="suspended")
        )
    assert owner.get(f"{AREA}/arquivos").headers["Location"].endswith("/portal/credenciamento/")
    assert (
        delegate.get(f"{AREA}/arquivos")
        .headers["Location"]
        .endswith("/portal/conta/relacionamentos")
    )
    assert lot_by_password(client, PROVIDER_A, "S1").tiss_fault == "LoginInvalido"


# Reset links ---------------------------------------------------------------------------------


def test_using_one_reset_link_spends_every_other_link_of_the_account(gw):
    set_email(gw, A_LOGIN, A_EMAIL)
    older, newer = ask_reset_link(gw), ask_reset_link(gw)
    browser = Client(build_app(gw))
    assert reset_with(browser, newer).status_code == 302
    assert browser.get(older).status_code == 410
    assert reset_with(browser, older, "Outra@Senha99").status_code == 410
    assert password_works(gw, A_LOGIN, NEW_PASSWORD)


def _newer_link(gw) -> None:
    ask_reset_link(gw)


def _password_changed(gw) -> None:
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    ps.post(
        browser,
        "/portal/conta/senha",
        {"current": A_PASSWORD, "password": "Trocada@2026", "password_confirm": "Trocada@2026"},
    )
    assert password_works(gw, A_LOGIN, "Trocada@2026")


def _temporary_password(gw) -> None:
    staff_action(staff_browser(gw), A_LOGIN, "temporary")


def _deactivated_and_reactivated(gw) -> None:
    account, staff_id = ps.account_id(gw, A_LOGIN), ps.make_staff(gw)
    credentials.set_active(gw.db, staff_id, account, False, ps.now(), ps.ORIGIN)
    credentials.set_active(gw.db, staff_id, account, True, ps.now(), ps.ORIGIN)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_newer_link, id="newer-link-requested"),
        pytest.param(_password_changed, id="password-changed-in-minha-conta"),
        pytest.param(_temporary_password, id="temporary-password-issued"),
        pytest.param(_deactivated_and_reactivated, id="account-deactivated-meanwhile"),
    ],
)
def test_a_pending_reset_link_dies_when_the_credential_changes_otherwise(gw, event):
    set_email(gw, A_LOGIN, A_EMAIL)
    link = ask_reset_link(gw)
    event(gw)
    browser = Client(build_app(gw))
    assert browser.get(link).status_code == 410
    assert reset_with(browser, link).status_code == 410
    assert not password_works(gw, A_LOGIN, NEW_PASSWORD)


def test_a_reset_link_of_a_deactivated_account_changes_nothing(gw):
    set_email(gw, A_LOGIN, A_EMAIL)
    link = ask_reset_link(gw)
    a_account = ps.account_id(gw, A_LOGIN)
    staff_id = ps.make_staff(gw)
    credentials.set_active(gw.db, staff_id, a_account, False, ps.now(), ps.ORIGIN)
    answer = reset_with(Client(build_app(gw)), link)
    assert answer.status_code == 410 and "inválido" in ps.text(answer)
    credentials.set_active(gw.db, staff_id, a_account, True, ps.now(), ps.ORIGIN)
    assert password_works(gw, A_LOGIN, A_PASSWORD)
    assert not password_works(gw, A_LOGIN, NEW_PASSWORD)


def test_a_reset_link_changes_only_its_own_account(gw):
    """Opened in a browser signed in as another provider, with that provider's login slipped
    into the form: only the link's account changes, and the other session goes on."""
    set_email(gw, A_LOGIN, A_EMAIL)
    link = ask_reset_link(gw)
    b_browser = signed_in(gw, PROVIDER_B.cnpj, PROVIDER_B.password)
    page = b_browser.get(link)
    assert A_LOGIN in ps.text(page)
    done = ps.post(
        b_browser,
        link,
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "login": PROVIDER_B.cnpj},
    )
    assert done.status_code == 302
    assert password_works(gw, A_LOGIN, NEW_PASSWORD)
    assert password_works(gw, PROVIDER_B.cnpj, PROVIDER_B.password)
    assert not password_works(gw, PROVIDER_B.cnpj, NEW_PASSWORD)
    assert is_signed_in(b_browser)


EXTERNAL_REFERENCE = re.compile(r'(?:src|href|action)\s*=\s*"(?:[a-z]+:)?//', re.I)


def test_reset_pages_never_hand_their_token_to_another_site(gw):
    set_email(gw, A_LOGIN, A_EMAIL)
    link = ask_reset_link(gw)
    browser = Client(build_app(gw))
    pages = [
        browser.get(link),
        ps.post(browser, link, {"password": "fraca", "password_confirm": "fraca"}),
        browser.get("/portal/senha/redefinir?token=inventado"),
    ]
    assert [p.status_code for p in pages] == [200, 422, 410]
    for page in pages:
        assert page.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
        assert "no-store" in page.headers["Cache-Control"]
        assert not EXTERNAL_REFERENCE.search(ps.text(page)), EXTERNAL_REFERENCE.search(
            ps.text(page)
        )


def forgot_from_host(gw, host: str, login: str = A_LOGIN, settings=None) -> list[str]:
    """'Esqueci minha senha' posted to this gateway with another Host header: the links mailed."""
    app = build_app(Gateway(settings=settings or gw.settings, db=gw.db, schemas=gw.schemas))
    browser = Client(app)
    base = f"http://{host}"
    page = browser.get("/portal/esqueci-senha", base_url=base)
    token = ps.CSRF.search(ps.text(page)).group(1)
    before = set(mailed_links(gw))
    answer = browser.post(
        "/portal/esqueci-senha", data={"login": login, "csrf_token": token}, base_url=base
    )
    assert answer.status_code == 200
    assert "enviamos para ele um link" in ps.text(answer)
    return sorted(set(mailed_links(gw)) - before)


def test_the_reset_link_never_points_at_the_host_the_requester_chose(gw, caplog):
    """Password-reset poisoning: without TISS_PUBLIC_URL the Host header is all the gateway
    knows of its address, and it is the sender's to choose. No link is mailed then, and the log
    tells the operator what to set; the page is the same, so it tells nothing of the login."""
    set_email(gw, A_LOGIN, A_EMAIL)
    assert forgot_from_host(gw, "phishing.example") == []
    assert "TISS_PUBLIC_URL" in caplog.text


def test_without_a_public_url_the_demo_on_this_machine_still_mails_its_link(gw):
    set_email(gw, A_LOGIN, A_EMAIL)
    (mailed,) = forgot_from_host(gw, "127.0.0.1:8000")
    assert mailed.startswith("http://127.0.0.1:8000/portal/senha/redefinir?token=")


def test_with_a_public_url_the_reset_link_uses_it_whatever_the_host(gw):
    set_email(gw, A_LOGIN, A_EMAIL)
    settings = dataclasses.replace(gw.settings, public_url="https://tiss.operadora.example")
    (mailed,) = forgot_from_host(gw, "phishing.example", settings=settings)
    assert mailed.startswith("https://tiss.operadora.example/portal/senha/redefinir?token=")


# Login and logout ---------------------------------------------------------------------------


def test_login_gives_a_new_session_and_the_planted_cookie_stays_anonymous(gw):
    """Session fixation: a cookie an attacker obtained before the victim logged in (and planted
    in the victim's browser) does not become the victim's session."""
    victim = Client(build_app(gw))
    planted = ps.csrf_token(victim, "/portal/entrar")
    before = victim.get_cookie("tiss_portal", path="/portal").value
    assert "sid" not in cookie_data(victim)
    assert ps.login(victim, A_LOGIN, A_PASSWORD).status_code == 302
    first_sid = cookie_data(victim)["sid"]
    attacker = Client(build_app(gw))
    attacker.set_cookie("tiss_portal", before, path="/portal")
    assert not is_signed_in(attacker)
    # The CSRF token of the anonymous page is not accepted in the signed-in session either.
    forged = victim.post(
        "/portal/conta/senha",
        data={
            "csrf_token": planted,
            "current": A_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert forged.status_code == 400
    # Each login is a new session token, even in the same browser.
    assert ps.login(victim, A_LOGIN, A_PASSWORD).status_code == 302
    assert cookie_data(victim)["sid"] != first_sid
    assert password_works(gw, A_LOGIN, A_PASSWORD)


def test_the_session_cookie_lives_only_as_long_as_the_browser(gw):
    browser = Client(build_app(gw))
    ps.csrf_token(browser, "/portal/entrar")
    response = ps.post(browser, "/portal/entrar", {"login": A_LOGIN, "password": A_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("tiss_portal=")
    assert "Expires" not in cookie and "Max-Age" not in cookie  # no "remember me"
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logging_out_needs_a_post_with_the_token(gw):
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    assert browser.get("/portal/sair").status_code == 405
    assert browser.post("/portal/sair").status_code == 400  # a third-party page cannot do it
    assert is_signed_in(browser)
    assert ps.logout(browser).status_code == 302
    assert not is_signed_in(browser)
    assert session_end_reasons(gw, A_LOGIN) == ["logout"]


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "/\\phishing.example/",
        "\\\\phishing.example/",
        "https:phishing.example",
        pytest.param(
            "/portal/\r\nLocation: https://phishing.example/",
            id="crlf",
        ),
    ],
)
def test_no_next_parameter_leads_away_from_the_portal(gw, target):
    browser = Client(build_app(gw))
    response = ps.post(
        browser,
        "/portal/entrar",
        {"login": A_LOGIN, "password": A_PASSWORD},
        query_string={"next": target},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "phishing" not in location and not location.startswith("javascript")
    assert location.startswith("/portal/")


@pytest.mark.parametrize(
    "target", ["//phishing.example/", "https://phishing.example/", "javascript:alert(1)"]
)
def test_choosing_the_provider_never_leads_away_from_the_portal(gw, target):
    ps.make_delegate(gw, A_LOGIN, ["faturamento"])
    browser = delegate_browser(gw)
    chosen = ps.post(
        browser,
        f"{AREA}/atuar",
        {"provider_id": provider_id(gw, PROVIDER_A), "next": target},
    )
    assert chosen.status_code == 302
    assert chosen.headers["Location"] == f"{AREA}/"


def test_refusals_cost_one_argon2_and_look_alike_whatever_the_account(gw, monkeypatch):
    """Unknown login, wrong password, locked account, deactivated account: one argon2 verification
    each (the dummy hash when there is no usable account) and the same answer."""
    calls = []
    real = passwords._hasher

    class Counting:
        def verify(self, stored, candidate):
            calls.append(stored)
            return real.verify(stored, candidate)

        def __getattr__(self, name):
            return getattr(real, name)

    register_second_delegate(gw)
    browser = Client(build_app(gw))
    for _ in range(5):  # lock B
        ps.login(browser, PROVIDER_B.cnpj, "Errada@123")
    monkeypatch.setattr(passwords, "_hasher", Counting())
    with gw.db.transaction() as s:
        s.execute(update(Account).where(Account.login == A_LOGIN).values(active=False))
    bodies = {}
    for case, (login_, password) in {
        "unknown": ("98765432000198", "Qualquer@123"),
        "wrong": (SECOND_DELEGATE_EMAIL, "Errada@123"),
        "locked": (PROVIDER_B.cnpj, PROVIDER_B.password),
        "inactive": (A_LOGIN, A_PASSWORD),
    }.items():
        calls.clear()
        answer = ps.login(browser, login_, password)
        assert answer.status_code == 401, case
        assert len(calls) == 1, case
        if case != "wrong":
            assert calls[0] == passwords._DUMMY_HASH, case
        bodies[case] = re.sub(r'value="[^"]*"', "", ps.text(answer))
    assert len(set(bodies.values())) == 1


# CSRF on every form -------------------------------------------------------------------------


def portal_post_paths(browser) -> list[str]:
    """Every POST route of the portal, with its parameters filled in."""
    values = {"int": "1", "default": "x", "any": "endereco"}
    paths = []
    for rule in flask_app(browser).url_map.iter_rules():
        if "POST" not in rule.methods or not rule.rule.startswith("/portal/"):
            continue
        path = rule.rule
        for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", path):
            pattern = re.compile(r"<[^>]*\b" + name + ">")
            path = pattern.sub(values.get(converter or "default", "1"), path)
        paths.append(path)
    return paths


def test_every_portal_form_refuses_a_post_without_its_token(gw):
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    paths = portal_post_paths(browser)
    assert len(paths) >= 30, paths
    assert "/portal/conta/relacionamentos/1/encerrar" in paths
    before = snapshot(gw)
    for path in paths:
        refused = browser.post(path, data={"login": A_LOGIN, "password": A_PASSWORD})
        assert refused.status_code == 400, path
        assert "Formulário expirado" in ps.text(refused), path
    assert snapshot(gw) == before
    assert is_signed_in(browser)


def test_a_token_from_another_session_is_refused(gw):
    other = signed_in(gw, PROVIDER_B.cnpj, PROVIDER_B.password)
    foreign = ps.csrf_token(other, "/portal/conta/senha")
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    forged = browser.post(
        "/portal/conta/senha",
        data={
            "csrf_token": foreign,
            "current": A_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert forged.status_code == 400
    assert password_works(gw, A_LOGIN, A_PASSWORD)


# Guessing the password from inside a session --------------------------------------------------


def test_guessing_the_current_password_in_alterar_senha_is_stopped(gw):
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    guesses = 0
    while browser.get("/portal/conta/senha").status_code == 200 and guesses < 10:
        wrong = ps.post(
            browser,
            "/portal/conta/senha",
            {
                "current": f"Palpite@{guesses:04d}",
                "password": NEW_PASSWORD,
                "password_confirm": NEW_PASSWORD,
            },
        )
        assert wrong.status_code in (302, 422, 429)
        guesses += 1
    # The fifth wrong guess locks the account and ends the session that made it.
    assert guesses == 5
    assert browser.get("/portal/conta/senha").status_code == 302
    assert session_end_reasons(gw, A_LOGIN)[-1] == "locked"
    assert not password_works(gw, A_LOGIN, NEW_PASSWORD)
    assert not password_works(gw, A_LOGIN, A_PASSWORD)


# Caching --------------------------------------------------------------------------------------


def test_authenticated_pages_and_downloads_are_not_cached(gw):
    browser = signed_in(gw, A_LOGIN, A_PASSWORD)
    page = ps.text(pa.upload(browser, pa.lot_file(PROVIDER_A, "C1")))
    numero = re.search(r'data-testid="protocolo">(\d{12})<', page).group(1)
    with gw.db.reading() as s:
        message = s.scalar(select(models.Message.id))
    answers = {
        path: browser.get(path)
        for path in (
            "/portal/conta/",
            f"{AREA}/",
            f"{AREA}/meus-dados",
            f"{AREA}/arquivos/{message}",
            f"{AREA}/arquivos/{message}/enviado",
            f"{AREA}/arquivos/{message}/retorno",
            f"{AREA}/capa-de-lote/{numero}.pdf",
            f"{AREA}/status?protocolo={numero}",
        )
    }
    for path, answer in answers.items():
        assert answer.status_code == 200, path
        assert "no-store" in answer.headers.get("Cache-Control", ""), (path, answer.mimetype)
