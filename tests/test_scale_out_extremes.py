"""Scale-out (deploy/README.md, "Several gateway hosts behind a load balancer"): two gateway hosts,
each with its own Settings, database pool, var folder and in-process caches, sharing one
PostgreSQL and one TISS_SECRET_KEY, behind a "load balancer" that sends each request to whichever
host it likes. What an operator checks before putting a second host in: a portal session opened
on one host works on the other and logging out on either ends it everywhere; a document or lot
file uploaded through one host is downloaded through the other; failed logins and lockouts count
across hosts; a password changed or an account deactivated through one host is refused at once by
the other (no per-process credential cache keeps it alive); lots sent to both at once get unique
protocols, and the same lot sent to both is one protocol; any host answers the status and
statements of a protocol another host issued. Every SOAP answer is validated against the official
XSD of its version (tests/tissclient.read_answer)."""

import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from gateway.app import build_app
from gateway.config_portal import PortalSettings
from gateway.services import passwords
from gateway.services.credentialing import queue
from gateway.services.gateway import Gateway
from gateway.tiss.header import Party
from gateway.tiss.samples import (
    SampleQuery,
    guides,
    lote_guias_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_status_ws,
)
from storage import models
from storage.db import Database
from storage.portal_models import CredentialingDocument, PortalSession
from tests import backoffice_client as bo
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS, make_settings
from tests.tissclient import SoapAnswer, envelope, read_answer, sample_lot

# The same TISS_SECRET_KEY on every host (deploy/README.md), plain HTTP in tests, and a portal
# rate limit no test reaches (it is per process by default, as the README says).
SHARED_PORTAL = PortalSettings(
    secret_key="k3y-shared-by-every-gateway-host-0123456789abcdef",
    cookie_secure=False,
    login_rate_limit="1000 per minute",
)
WRONG_MD5 = "0" * 32
LIST_LOTS = "<bo:listarLotes><bo:desde>2026-01-01T00:00:00</bo:desde></bo:listarLotes>"
NEW_PASSWORD = "Trocada@2026x"


@pytest.fixture(autouse=True)
def _postgresql_only(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip(
            "scale-out is a PostgreSQL feature (deploy/README.md: every host connects to the "
            "PostgreSQL primary); SQLite is one file on one host"
        )


@pytest.fixture
def settings_overrides():
    # The production default: a guide billed again is refused (conftest turns it off).
    return {"refuse_presented_guides": True, "portal": SHARED_PORTAL}


@pytest.fixture(autouse=True)
def _no_remembered_credentials():
    """Each test starts with no credential remembered as recently verified (the cache is a module
    global, shared by the two in-process hosts; its key includes the stored hash, so sharing it
    does not hide a revoked credential)."""
    passwords._verified.clear()
    yield
    passwords._verified.clear()


@dataclass
class Host:
    name: str
    url: str
    gw: Gateway


@contextmanager
def _serving(name: str, gw: Gateway):
    server = make_server("127.0.0.1", 0, build_app(gw), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Host(name, f"http://127.0.0.1:{server.server_port}", gw)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def hosts(gw, database_url, registry, tmp_path):
    """Hosts A and B: separate Settings (own TISS_VAR_DIR), own Database (pool and held message
    id), own Gateway (operator cache) and WSGI app (Flask app, limiter, CSRF); the same
    database URL and TISS_SECRET_KEY. The compiled schema sets are shared: they are immutable
    files checked by SHA-256, compiled identically by every process."""
    with ExitStack() as stack:
        started = []
        for name in ("A", "B"):
            settings = make_settings(
                database_url,
                tmp_path / f"host-{name}",
                refuse_presented_guides=True,
                portal=SHARED_PORTAL,
            )
            db = Database(database_url)
            stack.callback(db.dispose)
            host_gw = Gateway(settings=settings, db=db, schemas=registry)
            started.append(stack.enter_context(_serving(name, host_gw)))
        yield tuple(started)


# --- a provider's system and a browser behind the balancer ------------------------------------


def soap(host: Host, payload, service: str = "tissLoteGuias", **headers) -> SoapAnswer:
    """POST a request element (or its envelope already serialised: an lxml element must not be
    shared between threads) to a host."""
    body = payload if isinstance(payload, bytes) else envelope(payload)
    response = requests.post(
        f"{host.url}/tiss/v40300/{service}",
        data=body,
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""', **headers},
        timeout=60,
    )
    answer = read_answer(
        response.status_code, response.headers["Content-Type"], response.content, "4.03.00"
    )
    answer.request_id = response.headers.get("X-Request-Id")
    return answer


def lot(provider, numero: str, count: int = 1, *, senha: str | None = None, prefix=None):
    return lote_guias_ws(
        sample_lot(
            provider,
            numero,
            count,
            registro_ans=REGISTRO_ANS,
            senha_md5=senha or provider.senha_md5,
            guides=guides(count, prefix=prefix or f"{numero}-"),  # each guide billed once
            guide_type="guiaSP-SADT",
        )
    )


def query_for(provider) -> SampleQuery:
    return SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", provider.cnpj),
        codigo_prestador=provider.code,
        login=provider.cnpj,
        senha_md5=provider.senha_md5,
    )


class Browser:
    """One browser: a cookie jar the balancer's hosts all see (same site name; the tests' hosts
    differ only by port, which cookies ignore), each request sent to the host the test names."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, host: Host, path: str):
        return self.http.get(f"{host.url}{path}", allow_redirects=False, timeout=60)

    def token(self, host: Host, path: str) -> str:
        page = self.get(host, path)
        found = ps.CSRF.search(page.text)
        assert found, f"no CSRF token on {path} of host {host.name} ({page.status_code})"
        return found.group(1)

    def post(self, host: Host, path: str, data: dict, *, token_from=None, files=None):
        """POST a form with the CSRF token of the page that shows it, read from `token_from`
        (host, path): by default the same host and path."""
        source_host, source_path = token_from or (host, path)
        data = dict(data, csrf_token=self.token(source_host, source_path))
        return self.http.post(
            f"{host.url}{path}", data=data, files=files, allow_redirects=False, timeout=60
        )

    def login(self, host: Host, login: str, password: str):
        return self.post(host, "/portal/entrar", {"login": login, "password": password})

    def cookie(self) -> str | None:
        return self.http.cookies.get("tiss_portal")


def signed_in(host: Host, login: str, password: str) -> Browser:
    browser = Browser()
    response = browser.login(host, login, password)
    assert response.status_code == 302, response.text[:500]
    return browser


def with_cookie(value: str) -> Browser:
    """Another browser holding a copy of a session cookie (a tab, or a stolen cookie)."""
    browser = Browser()
    browser.http.cookies.set("tiss_portal", value, domain="127.0.0.1", path="/portal")
    return browser


def is_signed_in(browser: Browser, host: Host) -> bool:
    page = browser.get(host, "/portal/conta/")
    if page.status_code == 302:
        assert "/portal/entrar" in page.headers["Location"]
        return False
    assert page.status_code == 200, page.status_code
    return True


def account_of(gw, who) -> models.Account:
    """The account of a provider (its CNPJ is its login) or of a staff member (its login)."""
    login = getattr(who, "cnpj", None) or who.login
    with gw.db.reading() as s:
        return s.scalar(select(models.Account).where(models.Account.login == login))


def count(gw, model, *where) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def together(calls: list) -> list:
    """Run every call at once (released together by a barrier), one thread each."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# --- portal sessions ---------------------------------------------------------------------------


def test_a_session_opened_on_one_host_is_served_by_the_other_and_ends_on_both(gw, hosts):
    a, b = hosts
    browser = signed_in(a, PROVIDER_A.cnpj, PROVIDER_A.password)
    kept = browser.cookie()
    account = browser.get(b, "/portal/conta/")
    assert account.status_code == 200
    assert PROVIDER_A.cnpj in account.text
    assert is_signed_in(with_cookie(kept), b)  # a copy of the cookie works there too, for now
    # The form's CSRF token came from host A; host B takes it (shared secret key, token kept in
    # the signed cookie, not in a host's memory).
    out = browser.post(b, "/portal/sair", {}, token_from=(a, "/portal/conta/"))
    assert out.status_code == 302 and out.headers["Location"].endswith("/portal/entrar")
    # The cookie as it was before logging out (another tab, or someone who copied it) is dead on
    # both hosts: the session ended in the database.
    for host in (a, b):
        assert not is_signed_in(with_cookie(kept), host), host.name

    # And the other way round: signed in on B, out on A.
    browser = signed_in(b, PROVIDER_A.cnpj, PROVIDER_A.password)
    kept = browser.cookie()
    assert is_signed_in(browser, a) and is_signed_in(with_cookie(kept), a)
    out = browser.post(a, "/portal/sair", {}, token_from=(b, "/portal/conta/"))
    assert out.status_code == 302
    for host in (b, a):
        assert not is_signed_in(with_cookie(kept), host), host.name
    with gw.db.reading() as s:
        ended = s.scalars(select(PortalSession.end_reason)).all()
    assert sorted(ended, key=str) == ["logout", "logout"]


def test_a_form_of_host_a_with_another_sessions_token_is_refused_by_host_b(hosts):
    """The shared key must not make a token valid for any session: a CSRF token taken from
    another person's page (signed with the same key) is refused on the other host."""
    a, b = hosts
    victim = signed_in(a, PROVIDER_A.cnpj, PROVIDER_A.password)
    attacker = signed_in(a, PROVIDER_B.cnpj, PROVIDER_B.password)
    foreign = attacker.token(a, "/portal/conta/")
    response = victim.http.post(
        f"{b.url}/portal/sair", data={"csrf_token": foreign}, allow_redirects=False, timeout=60
    )
    assert response.status_code == 400
    assert is_signed_in(victim, b)


# --- uploaded documents and files ------------------------------------------------------------


def test_a_document_uploaded_through_host_a_is_downloaded_through_host_b(gw, hosts):
    """A candidate's document sent through A (deploy/README.md: kept in the database with its
    SHA-256, not on a host's disk) is downloaded through B, by the candidate and the analyst."""
    a, b = hosts
    staff_id = ps.make_staff(gw)
    account = ps.candidate_submitted(gw)
    queue.decide(gw.db, staff_id, ps.request_of(gw, account), "pre_approve", "Envie.", ps.now())
    content = ps.PDF + b"% uploaded through host A\n"
    candidate = signed_in(a, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    sent = candidate.post(
        a,
        "/portal/credenciamento/documentos",
        {"doc_type": "cnpj"},
        files={"file": ("cartao-cnpj.pdf", content, "application/pdf")},
    )
    assert sent.status_code == 302, sent.text[:500]
    with gw.db.reading() as s:
        doc_id = s.scalar(select(CredentialingDocument.id))
    # Nothing of it is on host A's disk that host B would need.
    assert not any(p.is_file() and p.read_bytes() == content for p in _files_under(a))
    own = candidate.get(b, f"/portal/credenciamento/documentos/{doc_id}")
    assert own.status_code == 200 and own.content == content
    analyst = signed_in(b, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    for host in (b, a):
        seen = analyst.get(host, f"/portal/operadora/documentos/{doc_id}")
        assert seen.status_code == 200 and seen.content == content, host.name


def _files_under(host: Host):
    return list(host.gw.settings.var_dir.rglob("*")) if host.gw.settings.var_dir.exists() else []


def test_a_lot_file_uploaded_through_host_a_is_listed_and_downloaded_alike_on_host_b(gw, hosts):
    a, b = hosts
    browser = signed_in(a, PROVIDER_A.cnpj, PROVIDER_A.password)
    data = pa.lot_file(PROVIDER_A, "UPA1")
    sent = browser.post(
        a,
        f"{pa.AREA}/envio-xml",
        {},
        files={"arquivo": ("lote.xml", data, "text/xml")},
    )
    assert sent.status_code == 200, sent.text[:500]
    links = re.compile(rf'href="{pa.AREA}/arquivos/(\d+)"')
    listed = {h.name: set(links.findall(browser.get(h, f"{pa.AREA}/arquivos").text)) for h in hosts}
    assert listed["A"] == listed["B"] and len(listed["A"]) == 1, listed
    (message_id,) = listed["A"]
    downloads = {h.name: browser.get(h, f"{pa.AREA}/arquivos/{message_id}/enviado") for h in hosts}
    assert [d.status_code for d in downloads.values()] == [200, 200]
    assert downloads["A"].content == downloads["B"].content == data
    details = {h.name: browser.get(h, f"{pa.AREA}/arquivos/{message_id}") for h in hosts}
    assert all("UPA1" in d.text for d in details.values())


# --- failed logins and lockouts --------------------------------------------------------------


def test_five_wrong_passwords_alternating_hosts_lock_the_web_service_on_both(gw, hosts):
    a, b = hosts
    # B verified the right password a moment ago (and remembers it): that must not outlive a lock.
    assert soap(b, lot(PROVIDER_A, "OK0")).protocol
    for n in range(5):
        host = hosts[n % 2]
        refused = soap(host, lot(PROVIDER_A, f"W{n}", senha=WRONG_MD5))
        assert refused.tiss_fault == "LoginInvalido", (host.name, refused.faultstring)
    account = account_of(gw, PROVIDER_A)
    assert account.failed_attempts == 5 and account.locked_until is not None
    for host in (b, a):
        locked = soap(host, lot(PROVIDER_A, f"R{host.name}"))
        assert locked.tiss_fault == "LoginInvalido", host.name
        assert locked.faultstring == "5005 - login ou senha inválidos"
    # The portal sees the same lock on both hosts.
    for host in (a, b):
        assert Browser().login(host, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 401


def test_portal_and_web_service_failures_on_different_hosts_lock_together(gw, hosts):
    a, b = hosts
    for host in (a, b, a):
        assert Browser().login(host, PROVIDER_A.cnpj, "Errada@123").status_code == 401
    for n, host in enumerate((b, a)):
        assert soap(host, lot(PROVIDER_A, f"X{n}", senha=WRONG_MD5)).tiss_fault == "LoginInvalido"
    assert account_of(gw, PROVIDER_A).locked_until is not None
    assert Browser().login(b, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 401
    assert soap(a, lot(PROVIDER_A, "X9")).tiss_fault == "LoginInvalido"
    # The other provider is untouched on both hosts.
    assert soap(a, lot(PROVIDER_B, "Y1")).protocol and soap(b, lot(PROVIDER_B, "Y2")).protocol


def test_five_wrong_staff_passwords_alternating_hosts_lock_the_back_office_on_both(
    gw, hosts, staff
):
    a, b = hosts
    wrong = bo.Staff(staff.login, "Errada@2026")
    body = bo.envelope(LIST_LOTS)
    assert bo.raw_post(b.url, body, staff).status_code == 200
    for n in range(5):
        response = bo.raw_post(hosts[n % 2].url, body, wrong)
        assert bo.fault_detail(response)[0] == "AutenticacaoInvalida"
    for host in (a, b):
        assert bo.fault_detail(bo.raw_post(host.url, body, staff))[0] == "AutenticacaoInvalida"


class _CountingHasher:
    """The real argon2 hasher, counting the passwords verified against a real account's hash.
    Each such verification waits until `expected` of them are in flight (or a short timeout):
    this makes "N attempts arrive while the first ones are still being verified" (argon2 takes
    ~0.2 s here, longer under load) happen every run instead of by chance. A gateway that counts
    an attempt before verifying it lets no more than the lock's 5 through, and the barrier just
    times out."""

    def __init__(self, real, expected: int) -> None:
        self.real = real
        self.tried: list[str] = []
        self._lock = threading.Lock()
        self._all_in_flight = threading.Barrier(expected)

    def verify(self, stored, candidate):
        if stored != passwords._DUMMY_HASH:
            with self._lock:
                self.tried.append(candidate)
            try:
                self._all_in_flight.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass
        return self.real.verify(stored, candidate)

    def __getattr__(self, name):
        return getattr(self.real, name)


GUESSES = 10


@pytest.mark.parametrize("door", ["web service", "portal", "back office"])
def test_wrong_passwords_sent_to_both_hosts_at_once_stop_at_the_lock(
    gw, hosts, monkeypatch, request, door
):
    hasher = _CountingHasher(passwords._hasher, GUESSES)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    guesses = [f"Palpite@{n:04d}" for n in range(GUESSES)]
    locked = PROVIDER_A
    if door == "back office":
        staff = request.getfixturevalue("staff")
        locked = staff
        body = bo.envelope(LIST_LOTS)
        calls = [
            lambda n=n, g=g: bo.fault_detail(
                bo.raw_post(hosts[n % 2].url, body, bo.Staff(staff.login, g))
            )[0]
            for n, g in enumerate(guesses)
        ]
        expected = "AutenticacaoInvalida"
    elif door == "web service":
        calls = [
            lambda n=n, g=g: (
                soap(hosts[n % 2], lot(PROVIDER_A, f"G{n}", senha=passwords.md5_hex(g))).tiss_fault
            )
            for n, g in enumerate(guesses)
        ]
        expected = "LoginInvalido"
    else:
        browsers = [Browser() for _ in guesses]
        tokens = [br.token(hosts[n % 2], "/portal/entrar") for n, br in enumerate(browsers)]

        def attempt(n: int, guess: str) -> int:
            return (
                browsers[n]
                .http.post(
                    f"{hosts[n % 2].url}/portal/entrar",
                    data={"login": PROVIDER_A.cnpj, "password": guess, "csrf_token": tokens[n]},
                    allow_redirects=False,
                    timeout=60,
                )
                .status_code
            )

        calls = [lambda n=n, g=g: attempt(n, g) for n, g in enumerate(guesses)]
        expected = 401
    results = together(calls)
    assert results == [expected] * GUESSES
    assert account_of(gw, locked).locked_until is not None
    # What the lock promises (Segurança e Privacidade item 69): 5 guesses, then none for 15 min.
    assert len(hasher.tried) <= 5, f"{len(hasher.tried)} passwords tried against the account"


def test_the_right_password_sent_at_once_by_parallel_calls_is_never_refused(gw, hosts):
    """The other side of counting an attempt before verifying it: a hospital system's parallel
    calls, all missing the remembered-credential cache together (after its 5 minutes, on every
    worker of every host), must not lock the account by their number alone, nor be refused."""
    passwords._verified.clear()
    calls = [lambda n=n: soap(hosts[n % 2], lot(PROVIDER_A, f"R{n:02d}")) for n in range(GUESSES)]
    answers = together(calls)
    assert [a.tiss_fault for a in answers] == [None] * GUESSES
    assert all(a.protocol for a in answers)
    account = account_of(gw, PROVIDER_A)
    assert (account.failed_attempts, account.locked_until) == (0, None)


# --- credentials revoked on one host ----------------------------------------------------------


def test_a_password_changed_through_host_a_is_refused_at_once_by_host_b(gw, hosts):
    a, b = hosts
    # Host B has just verified the old password (and remembers it for 5 minutes) ...
    assert soap(b, lot(PROVIDER_A, "C0")).protocol
    assert soap(b, lot(PROVIDER_A, "C1")).protocol
    elsewhere = signed_in(b, PROVIDER_A.cnpj, PROVIDER_A.password)
    # ... when the provider changes it through host A.
    browser = signed_in(a, PROVIDER_A.cnpj, PROVIDER_A.password)
    changed = browser.post(
        a,
        "/portal/conta/senha",
        {
            "current": PROVIDER_A.password,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302, changed.text[:500]
    old = soap(b, lot(PROVIDER_A, "C2"))
    assert old.tiss_fault == "LoginInvalido", "host B still accepts the old password"
    assert soap(a, lot(PROVIDER_A, "C3")).tiss_fault == "LoginInvalido"
    new_md5 = passwords.md5_hex(NEW_PASSWORD)
    assert soap(b, lot(PROVIDER_A, "C4", senha=new_md5)).protocol
    assert soap(a, lot(PROVIDER_A, "C5", senha=new_md5)).protocol
    # The other session (opened on B) ended; this one goes on, on either host.
    assert not is_signed_in(elsewhere, b) and not is_signed_in(elsewhere, a)
    assert is_signed_in(browser, b)
    assert Browser().login(b, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 401


def test_an_account_deactivated_through_host_a_is_refused_at_once_by_host_b(gw, hosts):
    a, b = hosts
    ps.make_staff(gw)
    assert soap(b, lot(PROVIDER_A, "D0")).protocol  # remembered on B
    provider_session = signed_in(b, PROVIDER_A.cnpj, PROVIDER_A.password)
    analyst = signed_in(a, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    path = "/portal/operadora/contas"
    done = analyst.post(
        a,
        path,
        {"login": PROVIDER_A.cnpj, "action": "deactivate"},
        token_from=(a, f"{path}?login={PROVIDER_A.cnpj}"),
    )
    assert done.status_code == 200 and "Conta desativada." in html.unescape(done.text)
    assert soap(b, lot(PROVIDER_A, "D1")).tiss_fault == "LoginInvalido"
    assert not is_signed_in(provider_session, b)
    assert Browser().login(b, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 401
    # Reactivated through host B (the staff session served by B): host A accepts it again.
    analyst.post(
        b,
        path,
        {"login": PROVIDER_A.cnpj, "action": "reactivate"},
        token_from=(b, f"{path}?login={PROVIDER_A.cnpj}"),
    )
    assert soap(a, lot(PROVIDER_A, "D2")).protocol


def test_a_reset_link_mailed_by_host_a_works_once_on_host_b(gw, hosts):
    """'Esqueci minha senha' on A; the person opens the link and the balancer sends it to B. The
    token lives in the database: B resets the password, A then refuses the old password it had
    verified a moment ago, and the link is spent on both."""
    a, b = hosts
    with gw.db.transaction() as s:
        s.execute(
            update(models.Account)
            .where(models.Account.login == PROVIDER_A.cnpj)
            .values(email="faturamento@hospitala.com.br")
        )
    assert soap(a, lot(PROVIDER_A, "E0")).protocol  # A remembers the old password
    asked = Browser().post(a, "/portal/esqueci-senha", {"login": PROVIDER_A.cnpj})
    assert asked.status_code == 200
    mails = sorted((a.gw.settings.var_dir / "outbox").glob("*.eml"))
    assert len(mails) == 1
    (link,) = re.findall(r"/portal/senha/redefinir\?token=[\w-]+", mails[0].read_text())
    person = Browser()
    done = person.post(
        b, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, token_from=(b, link)
    )
    assert done.status_code == 302, done.text[:500]
    assert soap(a, lot(PROVIDER_A, "E1")).tiss_fault == "LoginInvalido"
    assert soap(a, lot(PROVIDER_A, "E2", senha=passwords.md5_hex(NEW_PASSWORD))).protocol
    for host in (a, b):
        assert Browser().get(host, link).status_code == 410, host.name


def test_a_corrected_operator_registro_is_seen_by_every_running_host(
    gw, hosts, tmp_path, monkeypatch
):
    """`operator set` run on one host reaches every running host within
    OPERATOR_RECHECK_SECONDS (deploy/README.md), without a restart."""
    from gateway.services import gateway as gateway_module
    from gateway.services.admin import set_operator

    corrected = "346659"
    for n, host in enumerate(hosts):
        assert soap(host, lot(PROVIDER_A, f"O{n}")).protocol  # each host has read the operator
    set_operator(gw.db, corrected, "Operadora Teste")
    to_corrected = lote_guias_ws(
        sample_lot(
            PROVIDER_A,
            "O-NEW",
            1,
            registro_ans=corrected,
            guides=guides(1, prefix="ONEW-"),
            guide_type="guiaSP-SADT",
        )
    )
    settings = make_settings(
        gw.settings.database_url, tmp_path / "host-C", refuse_presented_guides=True
    )
    with _serving("C", Gateway(settings=settings, db=gw.db, schemas=gw.schemas)) as fresh:
        assert soap(fresh, to_corrected).protocol  # a host started after the change
    # The running hosts, once the time they trust what they read has passed.
    real = gateway_module.monotonic
    later = gateway_module.OPERATOR_RECHECK_SECONDS
    monkeypatch.setattr(gateway_module, "monotonic", lambda: real() + later)
    answers = {host.name: soap(host, envelope(to_corrected)) for host in hosts}
    assert {n: a.code or a.faultstring for n, a in answers.items()} == {"A": None, "B": None}
    assert {a.protocol for a in answers.values()} == {answers["A"].protocol}


# --- lots, protocols and queries across hosts -------------------------------------------------


def test_distinct_lots_sent_to_both_hosts_at_once_get_distinct_protocols(gw, hosts):
    calls = [
        lambda n=n, p=p: soap(hosts[n % 2], lot(p, f"P{n:02d}", 2))
        for n in range(8)
        for p in (PROVIDER_A, PROVIDER_B)
    ]
    answers = together(calls)
    assert [a.is_fault or a.code for a in answers] == [None] * 16, [
        a.faultstring or a.code for a in answers
    ]
    numbers = [a.protocol for a in answers]
    assert all(numbers) and len(set(numbers)) == 16
    assert count(gw, models.Protocol) == 16 and count(gw, models.Lot) == 16
    # Each answer is for the lot its request carried (none crossed between hosts' threads).
    lots = [a.text(".//ans:protocoloRecebimento/ans:numeroLote") for a in answers]
    assert lots == [f"P{n:02d}" for n in range(8) for _ in range(2)]
    # sequencialTransacao (the archive record's id) and the request id are unique across hosts,
    # and each request id is the one archived with that answer.
    sequencial = [int(a.text(".//ans:sequencialTransacao")) for a in answers]
    assert len(set(sequencial)) == 16
    request_ids = [a.request_id for a in answers]
    assert all(request_ids) and len(set(request_ids)) == 16
    with gw.db.reading() as s:
        archived = dict(s.execute(select(models.Message.id, models.Message.request_id)).all())
    assert [archived[n] for n in sequencial] == request_ids


def test_the_same_lot_sent_to_both_hosts_at_once_is_one_protocol(gw, hosts):
    payload = envelope(lot(PROVIDER_A, "SAME", 3))
    answers = together([lambda n=n: soap(hosts[n % 2], payload) for n in range(8)])
    assert [a.is_fault for a in answers] == [False] * 8, [a.faultstring for a in answers]
    assert [a.code for a in answers] == [None] * 8
    numbers = {a.protocol for a in answers}
    assert len(numbers) == 1 and None not in numbers
    assert count(gw, models.Lot) == 1 and count(gw, models.Guide) == 3
    assert count(gw, models.Message, models.Message.outcome == "accepted") == 1
    assert count(gw, models.Message, models.Message.outcome == "duplicate") == 7


def test_a_lot_uploaded_on_host_a_and_sent_by_web_service_to_host_b_at_once_is_one(gw, hosts):
    """The clerk uploads the lot file through the portal (host A) while the hospital's system
    sends the same lot by web service (host B): one protocol, the other is a resend."""
    a, b = hosts
    browser = signed_in(a, PROVIDER_A.cnpj, PROVIDER_A.password)
    token = browser.token(a, f"{pa.AREA}/envio-xml")
    data = pa.lot_file(PROVIDER_A, "TWIN", 2)
    ws_body = envelope(
        lote_guias_ws(
            sample_lot(PROVIDER_A, "TWIN", 2, registro_ans=REGISTRO_ANS, guide_type="guiaSP-SADT")
        )
    )

    def upload():
        return browser.http.post(
            f"{a.url}{pa.AREA}/envio-xml",
            data={"csrf_token": token},
            files={"arquivo": ("lote.xml", data, "text/xml")},
            timeout=60,
        )

    page, answer = together([upload, lambda: soap(b, ws_body)])
    assert page.status_code == 200, page.text[:500]
    assert not answer.is_fault and answer.code is None, answer.faultstring or answer.code
    assert answer.protocol in page.text
    assert count(gw, models.Lot) == 1 and count(gw, models.Protocol) == 1
    outcomes = sorted(
        o for o in (m.outcome for m in _messages(gw)) if o in ("accepted", "duplicate")
    )
    assert outcomes == ["accepted", "duplicate"]


def _messages(gw) -> list[models.Message]:
    with gw.db.reading() as s:
        return list(s.scalars(select(models.Message)))


def test_lots_sharing_a_guide_sent_to_both_hosts_at_once_bill_it_once(gw, hosts):
    """The per-provider lock is PostgreSQL's (advisory), not a host's: two hosts cannot both
    find the shared guide new."""
    calls = [
        lambda n=n: soap(
            hosts[n % 2],
            lote_guias_ws(
                sample_lot(
                    PROVIDER_A,
                    f"SH{n}",
                    registro_ans=REGISTRO_ANS,
                    guides=[*guides(1, prefix=f"SH{n}-"), *guides(1, prefix="SHARED")],
                )
            ),
        )
        for n in range(6)
    ]
    answers = together(calls)
    assert [a.is_fault for a in answers] == [False] * 6
    assert sorted(a.code or "-" for a in answers) == ["-"] + ["1308"] * 5
    assert count(gw, models.Guide, models.Guide.numero_guia_prestador == "SHARED000001") == 1


def test_status_and_statement_on_host_b_of_a_protocol_issued_and_moved_on_host_a(gw, hosts, staff):
    from tests.test_soap_queries import analyse

    a, b = hosts
    numero = soap(a, lot(PROVIDER_A, "Q1", 2)).protocol
    assert numero
    status = soap(
        b, solicitacao_status_ws(query_for(PROVIDER_A), numero), "tissSolicitacaoStatusProtocolo"
    )
    assert status.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    assert status.text(".//ans:detalheLote/ans:statusProtocolo") == "1"
    assert status.text(".//ans:detalheLote/ans:numeroLote") == "Q1"
    # The operator's script moves it through host A; B answers the new status at once.
    client, _ = bo.make_client(a.url, staff)
    client.service.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=2)
    status = soap(
        b, solicitacao_status_ws(query_for(PROVIDER_A), numero), "tissSolicitacaoStatusProtocolo"
    )
    assert status.text(".//ans:detalheLote/ans:statusProtocolo") == "2"
    # Another provider asking B for it gets "not found" (3291), as on one host.
    other = soap(
        b, solicitacao_status_ws(query_for(PROVIDER_B), numero), "tissSolicitacaoStatusProtocolo"
    )
    assert other.code == "3291" and b"Q1" not in other.raw
    analyse(gw, numero, item_glosa=None)
    for host in (b, a):
        statement = soap(
            host,
            solicitacao_demonstrativo_analise_ws(query_for(PROVIDER_A), [numero]),
            "tissSolicitacaoDemonstrativoRetorno",
        )
        conta = statement.payload.find(".//{*}demonstrativoAnaliseConta")
        assert conta is not None, host.name
        assert conta.findtext("{*}valorInformadoGeral") == "300.00"
