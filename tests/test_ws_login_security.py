"""Web-service login (loginSenhaPrestador): lockout after 5 failures shared with the portal,
throttling per client address, and no way to tell an unknown login from a wrong password."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from gateway.services import passwords, ws_login
from gateway.services.accounts import authentication
from gateway.services.accounts.access_log import Origin
from gateway.tiss.namespaces import version_slug
from gateway.tiss.samples import lote_guias_ws
from storage import models
from storage.portal_models import AccessLogEntry
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import envelope, read_answer, sample_lot


@pytest.fixture(autouse=True)
def forget_verified_credentials():
    """Each test starts with no credential remembered as recently verified."""
    passwords._verified.clear()
    yield
    passwords._verified.clear()


def send(client, provider, numero, *, senha=None, login=None, addr="198.51.100.7"):
    lot = sample_lot(
        provider,
        numero,
        1,
        registro_ans=REGISTRO_ANS,
        senha_md5=senha or provider.senha_md5,
        login=login or provider.cnpj,
    )
    response = client.post(
        f"/tiss/{version_slug('4.03.00')}/tissLoteGuias",
        data=envelope(lote_guias_ws(lot)),
        headers={"Content-Type": "text/xml; charset=ISO-8859-1"},
        environ_base={"REMOTE_ADDR": addr},
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )


def account_of(gw, provider) -> models.Account:
    with gw.db.reading() as s:
        return s.scalar(select(models.Account).where(models.Account.login == provider.cnpj))


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, gw):
    for n in range(5):
        assert send(client, PROVIDER_A, f"L{n}", senha="0" * 32).tiss_fault == "LoginInvalido"
    assert account_of(gw, PROVIDER_A).locked_until is not None
    locked = send(client, PROVIDER_A, "L9")
    assert locked.tiss_fault == "LoginInvalido"
    assert locked.faultstring == "5005 - login ou senha inválidos"
    with gw.db.transaction() as s:  # the lock runs out
        s.execute(
            update(models.Account)
            .where(models.Account.login == PROVIDER_A.cnpj)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert send(client, PROVIDER_A, "L10").protocol
    assert account_of(gw, PROVIDER_A).failed_attempts == 0


def test_portal_and_web_service_failures_count_together(client, gw):
    for _ in range(3):
        with pytest.raises(authentication.LoginFailed):
            authentication.login(
                gw.db, PROVIDER_A.cnpj, "Errada@123", datetime.now(UTC), Origin("203.0.113.1")
            )
    send(client, PROVIDER_A, "P1", senha="0" * 32)
    send(client, PROVIDER_A, "P2", senha="0" * 32)
    assert account_of(gw, PROVIDER_A).locked_until is not None
    with pytest.raises(authentication.LoginFailed):  # the portal sees the same lock
        authentication.login(
            gw.db, PROVIDER_A.cnpj, PROVIDER_A.password, datetime.now(UTC), Origin("203.0.113.1")
        )


def test_unknown_login_and_wrong_password_are_indistinguishable(client, gw, monkeypatch):
    calls = []
    real = passwords._hasher

    class Counting:
        def verify(self, stored, candidate):
            calls.append(stored)
            return real.verify(stored, candidate)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    unknown = send(client, PROVIDER_A, "U1", login="99999999000191")
    wrong = send(client, PROVIDER_A, "U2", senha="0" * 32)
    assert unknown.faultstring == wrong.faultstring == "5005 - login ou senha inválidos"
    assert unknown.tiss_fault == wrong.tiss_fault == "LoginInvalido"
    assert len(calls) == 2  # one full argon2 verification each, dummy hash for the unknown one
    assert calls[0] == passwords._DUMMY_HASH and calls[1] != passwords._DUMMY_HASH


def test_an_address_with_many_failures_is_throttled(client, gw):
    attacker, neighbour = "192.0.2.66", "192.0.2.67"
    for n in range(ws_login.ADDRESS_MAX_FAILURES):
        send(client, PROVIDER_A, f"T{n}", login=f"0000000000{n:04d}", addr=attacker)
    # Right credentials from the throttled address: refused like any bad login.
    refused = send(client, PROVIDER_B, "T-ok", addr=attacker)
    assert refused.faultstring == "5005 - login ou senha inválidos"
    # The same credentials from another address work, and the account was not blamed.
    assert send(client, PROVIDER_B, "T-ok", addr=neighbour).protocol
    assert account_of(gw, PROVIDER_B).failed_attempts == 0
    with gw.db.reading() as s:
        logged = s.scalar(
            select(func.count())
            .select_from(AccessLogEntry)
            .where(AccessLogEntry.event == ws_login.FAILED, AccessLogEntry.remote_addr == attacker)
        )
    assert logged == ws_login.ADDRESS_MAX_FAILURES + 1


def test_a_credential_verified_moments_ago_is_not_throttled(client, gw):
    """Behind a shared address (a hospital's NAT), a system that is already sending keeps
    working while someone else at that address is throttled."""
    shared = "192.0.2.80"
    assert send(client, PROVIDER_B, "N1", addr=shared).protocol
    for n in range(ws_login.ADDRESS_MAX_FAILURES):
        send(client, PROVIDER_A, f"N-{n}", login=f"1111111111{n:04d}", addr=shared)
    assert send(client, PROVIDER_B, "N2", addr=shared).protocol
