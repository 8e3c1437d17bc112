"""A password attempt is counted before its password is verified.

argon2 takes a noticeable fraction of a second. Were the lock read before it and the failure
counted after it, every guess in flight at once, on every worker of every host, would be
verified: ten guesses sent together where the lock allows five (Segurança e Privacidade item
69). So an attempt counts as a failure first, in a transaction of its own that commits at once
(every worker and host sees it), and the attempt that reaches the 5th failure in a row locks the
account there and then, before it is verified; an attempt after it finds the account locked and
its password is not verified. A success then clears the count and the lock, as it always did.

The lock a 5th attempt takes before its verification may be undone by its success: a script's
parallel calls with the right password, all missing the remembered-credential cache together,
would otherwise see it. So an attempt that finds a lock taken a moment ago waits for it to be
confirmed or undone before it gives up.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gateway.services.accounts import policy
from gateway.services.passwords import is_recently_verified
from storage.db import Database
from storage.models import Account

# A lock younger than this may still be undone by the success of the attempt that took it.
_UNSETTLED = timedelta(seconds=5)
_WAIT_SECONDS = 0.25
_WAITS = 12


@dataclass(frozen=True)
class Attempt:
    """Whether the password may be verified, and the account's failures in a row counting this
    attempt as one (undone by a success)."""

    allowed: bool
    failures: int = 0

    @property
    def locked_the_account(self) -> bool:
        return self.allowed and self.failures > 0 and self.failures % policy.MAX_FAILURES == 0


REFUSED = Attempt(False)
# The credential was verified a moment ago (passwords.is_recently_verified): argon2 will not
# run, so there is nothing to count.
VERIFIED_BEFORE = Attempt(True)


def attempt_on(
    db: Database, account: Account | None, md5_of_password: str, now: datetime
) -> Attempt:
    """The attempt of a portal or back-office login: REFUSED for an unknown, inactive or locked
    account; VERIFIED_BEFORE for a credential verified a moment ago; else counted first."""
    if account is None or not account.active or policy.is_locked(account.locked_until, now):
        return REFUSED
    if is_recently_verified(account.password_hash, md5_of_password):
        return VERIFIED_BEFORE
    return begin_attempt(db, account.id, now)


def begin_attempt(db: Database, account_id: int, now: datetime) -> Attempt:
    """Count an attempt on the account, locking it at every 5th failure in a row; REFUSED when
    the account is locked (its password then goes unverified)."""
    for _ in range(_WAITS):
        attempt = _count(db, account_id, now)
        if attempt.allowed or not _lock_is_unsettled(db, account_id, now):
            return attempt
        time.sleep(_WAIT_SECONDS)
    return REFUSED


def _count(db: Database, account_id: int, now: datetime) -> Attempt:
    with db.transaction() as session:
        return count_failure(session, account_id, now, unless_locked=True)


def count_failure(
    session: Session, account_id: int, now: datetime, *, unless_locked: bool = False
) -> Attempt:
    """One more failure in a row on the account, in `session`; every 5th locks it (item 69).
    With `unless_locked`, nothing is counted on an account locked at `now`: REFUSED."""
    increment = update(Account).where(Account.id == account_id)
    if unless_locked:
        increment = increment.where(
            or_(Account.locked_until.is_(None), Account.locked_until <= now)
        )
    failures = session.scalar(
        increment.values(failed_attempts=Account.failed_attempts + 1).returning(
            Account.failed_attempts
        )
    )
    if failures is None:
        return REFUSED
    if failures % policy.MAX_FAILURES == 0:
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(locked_until=now + policy.LOCK_TIME)
        )
    return Attempt(True, failures)


def _lock_is_unsettled(db: Database, account_id: int, now: datetime) -> bool:
    with db.reading() as session:
        locked_until = session.scalar(select(Account.locked_until).where(Account.id == account_id))
    if locked_until is None:
        return True  # undone since: count again
    taken_at = locked_until - policy.LOCK_TIME
    return taken_at > now - _UNSETTLED


def undo_attempt(db: Database, account_id: int, attempt: Attempt) -> None:
    """The password was right: the failure the attempt counted, and a lock it took, are undone
    at once, in a transaction of their own (the message it came with may still be refused and
    rolled back, and a right password must not count towards a lock)."""
    if not attempt.failures:
        return
    values: dict = {"failed_attempts": 0}
    if attempt.locked_the_account:
        values["locked_until"] = None
    with db.transaction() as session:
        session.execute(update(Account).where(Account.id == account_id).values(**values))
