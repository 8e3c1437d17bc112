"""A stored password hash made with older argon2 parameters is made again with the current ones
at the account's next successful login, whichever door it comes in by (web service, portal, back
office); a current hash is left alone, and a wrong password changes nothing."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.services import passwords
from gateway.services.backoffice.staff import authenticate_staff
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account
from tests import portal_support as ps
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import post, sample_lot


def stored_hash(gw, login: str) -> str:
    with gw.db.reading() as session:
        return session.scalar(select(Account.password_hash).where(Account.login == login))


@pytest.fixture
def newer(gw, monkeypatch) -> PasswordHasher:
    """Parameters above those the accounts were hashed with, as a newer argon2-cffi brings; no
    credential verified before (the cache would skip argon2, and with it the check)."""
    current = passwords._hasher
    raised = PasswordHasher(
        time_cost=current.time_cost + 1,
        memory_cost=current.memory_cost,
        parallelism=current.parallelism,
    )
    monkeypatch.setattr(passwords, "_hasher", raised)
    monkeypatch.setattr(passwords, "_verified", {})
    return raised


def lot(numero: str):
    return lote_guias_ws(sample_lot(PROVIDER_A, numero, 1, registro_ans=REGISTRO_ANS))


def assert_upgraded(newer: PasswordHasher, before: str, after: str, md5: str) -> None:
    assert newer.check_needs_rehash(before)
    assert after != before and not newer.check_needs_rehash(after)
    assert newer.verify(after, md5)  # the same password


def test_a_web_service_login_moves_the_hash_to_current_parameters(client, gw, newer):
    before = stored_hash(gw, PROVIDER_A.cnpj)
    assert post(client, lot("RH1")).protocol
    after = stored_hash(gw, PROVIDER_A.cnpj)
    assert_upgraded(newer, before, after, PROVIDER_A.senha_md5)
    assert post(client, lot("RH2")).protocol  # and the next message logs in with it
    assert stored_hash(gw, PROVIDER_A.cnpj) == after


def test_a_portal_login_moves_the_hash_to_current_parameters(client, gw, newer):
    before = stored_hash(gw, PROVIDER_A.cnpj)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    assert_upgraded(newer, before, stored_hash(gw, PROVIDER_A.cnpj), PROVIDER_A.senha_md5)


@pytest.fixture
def staff(gw) -> int:
    return ps.make_staff(gw)


def test_a_back_office_login_moves_the_hash_to_current_parameters(gw, staff, newer):
    # `staff` before `newer`: the account is hashed with the older parameters.
    before = stored_hash(gw, ps.STAFF_LOGIN)
    authenticate_staff(gw.db, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    after = stored_hash(gw, ps.STAFF_LOGIN)
    assert_upgraded(newer, before, after, passwords.md5_hex(ps.STAFF_PASSWORD))


def test_a_current_hash_is_left_alone(client, gw, monkeypatch):
    monkeypatch.setattr(passwords, "_verified", {})
    before = stored_hash(gw, PROVIDER_A.cnpj)
    assert post(client, lot("RH3")).protocol
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    assert stored_hash(gw, PROVIDER_A.cnpj) == before


def test_a_wrong_password_changes_nothing(client, gw, newer):
    before = stored_hash(gw, PROVIDER_A.cnpj)
    wrong = sample_lot(PROVIDER_A, "RH4", 1, registro_ans=REGISTRO_ANS, senha_md5="0" * 32)
    assert post(client, lote_guias_ws(wrong)).tiss_fault == "LoginInvalido"
    assert stored_hash(gw, PROVIDER_A.cnpj) == before
