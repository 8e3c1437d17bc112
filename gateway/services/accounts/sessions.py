"""Portal sessions, kept in the database: the browser holds a random token (inside the signed
session cookie), the database its SHA-256 and the last activity. Any host can serve any request,
logging out really ends the session, and 30 minutes without activity end it (item 76)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.services.accounts import access_log, policy
from gateway.services.accounts.access_log import Origin
from storage.db import Database
from storage.models import Account
from storage.portal_models import PortalSession

# Activity is written at most once a minute per session, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class CurrentUser:
    account_id: int
    login: str
    kind: str  # provider | staff | delegate
    name: str | None
    email: str | None
    provider_id: int | None
    must_change_password: bool
    password_expired: bool

    @property
    def must_change(self) -> bool:
        return self.must_change_password or self.password_expired


class SessionExpired(Exception):
    """The session existed but was idle for longer than the limit; it is now ended."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(session: Session, account_id: int, now: datetime, origin: Origin) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            token_sha256=token_digest(token),
            account_id=account_id,
            created_at=now,
            last_seen_at=now,
            remote_addr=origin.remote_addr,
        )
    )
    return token


def resume(db: Database, token: str, now: datetime, origin: Origin) -> CurrentUser | None:
    """The user of a live session, None if there is none, SessionExpired if it just timed out."""
    with db.transaction() as session:
        row = session.scalar(
            select(PortalSession).where(
                PortalSession.token_sha256 == token_digest(token), PortalSession.ended_at.is_(None)
            )
        )
        if row is None:
            return None
        account = session.get(Account, row.account_id)
        idle = now - row.last_seen_at
        if idle > policy.IDLE_TIMEOUT:
            row.ended_at, row.end_reason = now, "idle"
            access_log.record(session, "session_expired", now, origin, account_id=account.id)
            user = None
        elif not account.active:
            row.ended_at, row.end_reason = now, "inactive"
            return None
        else:
            if idle > TOUCH_EVERY:
                row.last_seen_at = now
            user = current_user(account, now)
    if user is None:  # raised after the commit, so that the session stays ended
        raise SessionExpired()
    return user


def current_user(account: Account, now: datetime) -> CurrentUser:
    return CurrentUser(
        account_id=account.id,
        login=account.login,
        kind=account.kind,
        name=account.name,
        email=account.email,
        provider_id=account.provider_id,
        must_change_password=bool(account.must_change_password),
        password_expired=policy.password_expired(account.password_changed_at, now),
    )


def end_session(db: Database, token: str, now: datetime, origin: Origin) -> None:
    with db.transaction() as session:
        row = session.scalar(
            select(PortalSession).where(
                PortalSession.token_sha256 == token_digest(token), PortalSession.ended_at.is_(None)
            )
        )
        if row is not None:
            row.ended_at, row.end_reason = now, "logout"
            access_log.record(session, "logout", now, origin, account_id=row.account_id)


def end_all(
    session: Session, account_id: int, now: datetime, reason: str, *, keep: str | None = None
) -> None:
    """End every live session of an account (password changed, account deactivated), except
    the one whose token is `keep` (the person who just changed their password)."""
    query = update(PortalSession).where(
        PortalSession.account_id == account_id, PortalSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(PortalSession.token_sha256 != token_digest(keep))
    session.execute(query.values(ended_at=now, end_reason=reason))
