"""Operator staff accounts: created from the command line, used by the back-office API.

Staff accounts share the `accounts` table with providers (kind 'staff', no provider) and the
same credential scheme: argon2 over the MD5 hex of the password, verified at the same cost
whether or not the login exists.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway.services.accounts import access_log, policy
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.attempts import Attempt, attempt_on
from gateway.services.accounts.authentication import canonical_login
from gateway.services.backoffice.errors import BackOfficeError, ErrorKind
from gateway.services.passwords import (
    hash_password,
    md5_hex,
    upgraded_hash,
    verify_md5_credential,
)
from storage.db import Database
from storage.models import Account

STAFF = "staff"
LOGIN = re.compile(r"^[A-Za-z0-9._@-]{3,60}$")
# Segurança e Privacidade item 69: lock after 5 failures for at least 5 minutes.
MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=5)
LAST_LOGIN_RESOLUTION = timedelta(minutes=1)
# Item 51: one generic message whatever went wrong (unknown login, password, lock, inactive).
BAD_LOGIN = "login ou senha inválidos"
# Access-log events of back-office logins (item 66), beside the portal's and the web service's.
FAILED = "backoffice_login_failed"
REFUSED_LOCKED = "backoffice_login_refused_locked"
USER_AGENT = "back office"


@dataclass(frozen=True)
class StaffPrincipal:
    account_id: int
    login: str


def check_password_policy(password: str) -> None:
    """Item 67, the portal's rule (accounts.policy), as a back-office refusal."""
    if problem := policy.password_problem(password):
        raise BackOfficeError(problem)


def add_staff(db: Database, login: str, password: str) -> StaffPrincipal:
    login = canonical_login(login)  # as the portal's find_account reads it
    if not LOGIN.match(login):
        raise BackOfficeError(
            "o login tem de 3 a 60 caracteres: letras sem acento, dígitos, ponto, hífen, "
            "sublinhado ou @"
        )
    check_password_policy(password)
    now = datetime.now(UTC)
    with db.transaction() as session:
        if session.scalar(select(Account.id).where(Account.login == login)) is not None:
            raise BackOfficeError(f"já existe uma conta com o login {login}")
        account = Account(
            login=login,
            kind=STAFF,
            provider_id=None,
            password_hash=hash_password(password),
            active=True,
            failed_attempts=0,
            password_changed_at=now,
            created_at=now,
        )
        session.add(account)
        session.flush()
        return StaffPrincipal(account.id, login)


def authenticate_staff(
    db: Database,
    login: str | None,
    password: str | None,
    now: datetime | None = None,
    remote_addr: str | None = None,
) -> StaffPrincipal:
    """The active, unlocked staff account with this login and password, or BackOfficeError.
    Each failure on an active account goes to its access log with `remote_addr`; a success does
    not (a script makes many calls), beyond the account's last login.

    The row is not locked while argon2 runs (that would serialise a script's parallel calls);
    the attempt is counted before it instead (accounts.attempts).
    """
    now = now or datetime.now(UTC)
    login = canonical_login(login)  # as add_staff stored it
    account = None
    if login:
        with db.reading() as session:
            account = session.scalar(
                select(Account).where(Account.login == login, Account.kind == STAFF)
            )
    typed = md5_hex(password or "")
    attempt = attempt_on(db, account, typed, now)  # counted before argon2 runs
    stored = account.password_hash if attempt.allowed else None
    ok = verify_md5_credential(stored, typed)
    if account is None:
        raise BackOfficeError(BAD_LOGIN, ErrorKind.AUTHENTICATION)  # the login may be a password
    # The log names an account that exists; the staff member sees the generic message.
    refused = BackOfficeError(
        BAD_LOGIN, ErrorKind.AUTHENTICATION, logged=f"{BAD_LOGIN} (conta {account.login!r})"
    )
    if not account.active:
        raise refused
    new_hash = upgraded_hash(stored, typed) if ok else None
    if ok and (new_hash is not None or attempt.failures or _needs_update(account, now)):
        values = policy.after_login(now, new_hash)  # the attempt's count and lock undone
        with db.transaction() as session:
            session.execute(update(Account).where(Account.id == account.id).values(**values))
    elif not ok:
        origin = Origin(remote_addr, USER_AGENT)
        with db.transaction() as session:
            if attempt.allowed:
                _failure_counted(session, account.id, attempt, now, origin)
            else:
                access_log.record(session, REFUSED_LOCKED, now, origin, account_id=account.id)
    if not ok:
        raise refused
    return StaffPrincipal(account.id, account.login)


def _needs_update(account: Account, now: datetime) -> bool:
    """A script makes many calls in a row: the last login is kept to the minute rather than
    written on every call, but earlier failures are always cleared."""
    last = account.last_login_at
    return bool(
        account.failed_attempts
        or account.locked_until is not None
        or last is None
        or now - last >= LAST_LOGIN_RESOLUTION
    )


def _failure_counted(
    session, account_id: int, attempt: Attempt, now: datetime, origin: Origin
) -> None:
    """The access log of a wrong password already counted, and of the lock it took: every 5th
    in a row locks the account, as in the portal; the lock does not reset the run, only a
    success ends it."""
    access_log.record(session, FAILED, now, origin, account_id=account_id)
    if not attempt.locked_the_account:
        return
    failures = attempt.failures
    access_log.record(
        session,
        "account_locked",
        now,
        origin,
        account_id=account_id,
        detail=f"{failures} tentativas sem sucesso na API da operadora",
    )
