"""Portal login: one generic message for every failure (item 51), lock after 5 failures (item 69),
the same argon2 cost whether or not the login exists, and the access log (item 66)."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.services.accounts import access_log, attempts, policy
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.attempts import Attempt, attempt_on
from gateway.services.accounts.sessions import CurrentUser, current_user, open_session
from gateway.services.documents import normalize
from gateway.services.mail import Mailer
from gateway.services.passwords import (
    md5_hex,
    upgraded_hash,
    verify_md5_credential,
)
from storage.db import Database
from storage.models import Account

log = logging.getLogger(__name__)


class LoginFailed(Exception):
    def __init__(self) -> None:
        super().__init__(policy.BAD_LOGIN)


@dataclass(frozen=True)
class LoggedIn:
    user: CurrentUser
    token: str
    previous_login_at: datetime | None  # shown after login (item 42)
    failed_attempts: int  # failed attempts, any door, since the previous portal login (item 42)


def canonical_login(login: str | None) -> str:
    """A login as stored: trimmed, and an e-mail login in lower case (mailboxes are typed in any
    case)."""
    login = (login or "").strip()
    return login.lower() if "@" in login else login


def find_account(session: Session, login: str) -> Account | None:
    """Logins are a CPF/CNPJ (typed with or without punctuation), an e-mail (delegates) or a
    staff login."""
    login = canonical_login(login)
    if not login or len(login) > 254:
        return None
    if "@" in login:
        return session.scalar(select(Account).where(Account.login == login))
    account = session.scalar(select(Account).where(Account.login == login))
    if account is None and normalize(login) != login:
        account = session.scalar(select(Account).where(Account.login == normalize(login)))
    return account


def login(
    db: Database,
    typed_login: str,
    password: str,
    now: datetime,
    origin: Origin,
    mailer: Mailer | None = None,
) -> LoggedIn:
    with db.reading() as session:
        account = find_account(session, typed_login)
    typed = md5_hex(password or "")
    attempt = attempt_on(db, account, typed, now)  # counted before argon2 runs
    # One argon2 verification whatever the case, so timing tells nothing about the login.
    ok = verify_md5_credential(account.password_hash if attempt.allowed else None, typed)
    with db.transaction() as session:
        if ok:
            return _succeed(
                session, account, now, origin, upgraded_hash(account.password_hash, typed)
            )
        locked_now = None
        if attempt.allowed:
            locked_now = failure_counted(session, account, attempt, now, origin)
        else:
            event = (
                "login_refused_locked"
                if account is not None and account.active
                else ("login_failed")
            )
            access_log.record(
                session,
                event,
                now,
                origin,
                account_id=account.id if account is not None else None,
                login=typed_login,
            )
    if locked_now is not None and locked_now.email and mailer is not None:
        _tell_owner(mailer, locked_now)
    raise LoginFailed()


def _tell_owner(mailer: Mailer, account: Account) -> None:
    minutes = int(policy.LOCK_TIME.total_seconds() // 60)
    try:
        mailer.send(
            account.email,
            "Acesso bloqueado temporariamente",
            f"Houve {policy.MAX_FAILURES} tentativas de acesso sem sucesso com o login "
            f"{account.login}. O acesso ficará bloqueado por {minutes} minutos.\n\n"
            "Se não foi você, altere sua senha assim que o bloqueio terminar ou use "
            '"Esqueci minha senha".\n',
        )
    except OSError:
        log.exception("could not tell %s about the lock", account.login)


def _succeed(
    session: Session, account: Account, now: datetime, origin: Origin, new_hash: str | None
) -> LoggedIn:
    since = access_log.since_last_login(session, account.id)
    # An account whose last portal login is no longer logged (90 days) still has its time.
    previous = since.at or account.last_login_at
    session.execute(
        update(Account).where(Account.id == account.id).values(**policy.after_login(now, new_hash))
    )
    token = open_session(session, account.id, now, origin)
    access_log.record(session, access_log.LOGIN_OK, now, origin, account_id=account.id)
    return LoggedIn(current_user(account, now), token, previous, since.failures)


def count_failure(
    session: Session, account: Account, now: datetime, origin: Origin
) -> Account | None:
    """One more wrong password for the account; every 5th in a row locks it. Returns the account
    when this failure locked it, else None."""
    # One UPDATE, so that concurrent failures are all counted.
    attempt = attempts.count_failure(session, account.id, now)
    return failure_counted(session, account, attempt, now, origin)


def failure_counted(
    session: Session, account: Account, attempt: Attempt, now: datetime, origin: Origin
) -> Account | None:
    """The access log of a wrong password already counted (attempts.begin_attempt), and of the
    lock it took. Returns the account when this failure locked it, else None."""
    access_log.record(session, "login_failed", now, origin, account_id=account.id)
    if not attempt.locked_the_account:
        return None
    failures = attempt.failures
    access_log.record(
        session,
        "account_locked",
        now,
        origin,
        account_id=account.id,
        detail=f"{failures} tentativas sem sucesso",
    )
    log.warning("portal account %s locked after %s failures", account.login, failures)
    return account
