"""Lockout and throttling of the web-service login (loginSenhaPrestador).

The account lock is the portal's (Segurança e Privacidade item 69: 5 failures in a row lock the
account), so guessing through the web service and through the portal counts alike. On top of it,
a client address with too many failed web-service logins in a short window is refused for a
while, whatever login it tries. Every refusal looks the same from outside: LoginInvalido,
"login ou senha inválidos", after one argon2 verification.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.services.accounts import access_log, policy
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.attempts import Attempt, count_failure
from gateway.services.senders import WsAccount
from storage.models import Account
from storage.portal_models import AccessLogEntry

FAILED = "ws_login_failed"
# An attempt on a locked account: refused without checking the password, and not counted towards
# another lock (the portal's login_refused_locked), but in its owner's access log all the same.
REFUSED_LOCKED = "ws_login_refused_locked"
ADDRESS_WINDOW = timedelta(minutes=5)
ADDRESS_MAX_FAILURES = 20


@dataclass(frozen=True)
class LoginFailure:
    """A failed web-service login, kept until the rejection is archived (the message's own
    transaction is rolled back, so the count is written with the archive record)."""

    login: str
    account_id: int | None  # None when the login is unknown or inactive
    remote_addr: str | None
    detail: str | None = None  # e.g. the subject and SHA-256 of an unregistered certificate
    locked: bool = False  # the account was locked: logged as REFUSED_LOCKED, not counted
    # Counted already, before its password was verified (accounts.attempts), with any lock.
    counted: Attempt | None = None


def password_failure(
    login: str,
    account: WsAccount | None,
    remote_addr: str | None,
    now: datetime,
    *,
    checked: bool,
    counted: Attempt | None = None,
    locked_meanwhile: bool = False,
) -> LoginFailure:
    """The failure of a password login. `checked`: the password was verified against the
    account, which is then blamed (counted towards the lock, unless `counted` already did). An
    attempt on a locked account (`locked_meanwhile`: by an attempt on another worker or host
    since the account was read) names it too, so that its owner sees it; any other (unknown
    login, inactive account, a throttled address) names none."""
    if checked:
        return LoginFailure(login, account.id, remote_addr, counted=counted)
    if account is None or not account.active:
        return LoginFailure(login, None, remote_addr)
    if locked_meanwhile or policy.is_locked(account.locked_until, now):
        return LoginFailure(login, account.id, remote_addr, locked=True)
    return LoginFailure(login, None, remote_addr)


def address_throttled(session: Session, remote_addr: str | None, now: datetime) -> bool:
    if not remote_addr:
        return False
    failures = session.scalar(
        select(func.count())
        .select_from(AccessLogEntry)
        .where(
            AccessLogEntry.occurred_at > now - ADDRESS_WINDOW,
            AccessLogEntry.event.in_((FAILED, REFUSED_LOCKED)),
            AccessLogEntry.remote_addr == remote_addr[:64],
        )
    )
    return failures >= ADDRESS_MAX_FAILURES


def usable(account: WsAccount | None, now: datetime) -> bool:
    return (
        account is not None and account.active and not policy.is_locked(account.locked_until, now)
    )


def record_failure(session: Session, failure: LoginFailure, now: datetime) -> None:
    """Count the failure on the account (locking it at every 5th in a row) and in the access log,
    where the per-address throttle reads it."""
    origin = Origin(remote_addr=failure.remote_addr, user_agent="web service")
    access_log.record(
        session,
        REFUSED_LOCKED if failure.locked else FAILED,
        now,
        origin,
        account_id=failure.account_id,
        login=failure.login,
        detail=failure.detail[:300] if failure.detail else None,
    )
    if failure.account_id is None or failure.locked:
        return
    # Not counted yet when the password was right but the provider is not approved.
    counted = failure.counted or count_failure(session, failure.account_id, now)
    failures, locked = counted.failures, counted.locked_the_account
    if locked:
        access_log.record(
            session,
            "account_locked",
            now,
            origin,
            account_id=failure.account_id,
            detail=f"{failures} tentativas sem sucesso no web service",
        )


def record_success(session: Session, account: WsAccount, new_hash: str | None = None) -> None:
    """A successful login ends a run of failures, and stores the credential's hash made again
    with current parameters when there is one (passwords.upgraded_hash); written only then, so
    that the common case costs no write."""
    values = {}
    if account.failed_attempts:
        values["failed_attempts"] = 0
    if new_hash is not None:
        values["password_hash"] = new_hash
    if values:
        session.execute(update(Account).where(Account.id == account.id).values(**values))
