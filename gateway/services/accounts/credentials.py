"""Setting and changing passwords: the policy (item 67), no reuse of the last 3 (item 75), the
180-day change (item 68) and seed 002's temporary password that must be changed at first access.

The stored secret is argon2 over the MD5 hex of the password (gateway.services.passwords), so the
portal password is also the `loginSenhaPrestador` password of the TISS web services."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.services.accounts import access_log, policy
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.authentication import count_failure
from gateway.services.accounts.sessions import end_all
from gateway.services.passwords import hash_password, md5_hex, verify_md5_credential
from gateway.services.validation import InvalidInput, invalid
from storage.db import Database
from storage.models import Account
from storage.portal_models import PasswordHistory, PasswordResetToken


def spend_reset_links(
    session: Session,
    account_id: int,
    now: datetime,
    *,
    before: int | None = None,
    only: int | None = None,
) -> None:
    """Every reset link of the account not yet used stops working (or only those stored before
    link `before`, or only link `only`): once the password has changed by any door, or a newer
    link was mailed, or the account was switched off, a link mailed before (to a mailbox someone
    else may read) must not take the account over."""
    query = update(PasswordResetToken).where(
        PasswordResetToken.account_id == account_id, PasswordResetToken.used_at.is_(None)
    )
    if before is not None:
        query = query.where(PasswordResetToken.id < before)
    if only is not None:
        query = query.where(PasswordResetToken.id == only)
    session.execute(query.values(used_at=now))


def check_new_password(password: str, confirmation: str, field: str = "password") -> None:
    policy.check_policy(password, field)
    if password != confirmation:
        raise invalid(f"{field}_confirm", "A confirmação não confere com a senha.")


def recent_hashes(session: Session, account: Account) -> list[str]:
    history = session.scalars(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.account_id == account.id)
        .order_by(PasswordHistory.id.desc())
        .limit(policy.REUSE_DEPTH)
    ).all()
    # Accounts created elsewhere (CLI, back office) may have no history: the current one counts.
    return list(dict.fromkeys([account.password_hash, *history]))


def store_password(
    session: Session, account: Account, password: str, now: datetime, *, temporary: bool = False
) -> None:
    """Set a password (already checked against the policy), keeping it in the history."""
    has_history = session.scalar(
        select(PasswordHistory.id).where(PasswordHistory.account_id == account.id).limit(1)
    )
    if has_history is None and account.password_hash:
        # Set outside the portal (CLI, back office): the outgoing password joins the history.
        session.add(
            PasswordHistory(
                account_id=account.id,
                password_hash=account.password_hash,
                created_at=account.password_changed_at,
            )
        )
    digest = hash_password(password)
    account.password_hash = digest
    account.password_changed_at = now
    account.must_change_password = temporary
    account.failed_attempts = 0
    account.locked_until = None
    session.add(PasswordHistory(account_id=account.id, password_hash=digest, created_at=now))


def replace_password(
    session: Session, account: Account, password: str, confirmation: str, now: datetime
) -> None:
    check_new_password(password, confirmation)
    typed = md5_hex(password)
    if any(verify_md5_credential(h, typed) for h in recent_hashes(session, account)):
        raise invalid(
            "password", f"A nova senha não pode repetir nenhuma das últimas {policy.REUSE_DEPTH}."
        )
    store_password(session, account, password, now)


def change_password(
    db: Database,
    account_id: int,
    current: str,
    password: str,
    confirmation: str,
    now: datetime,
    origin: Origin,
    *,
    keep_session: str | None = None,
) -> None:
    """The logged-in person changes their password; every other session of theirs ends.

    A wrong current password counts as a failed login, kept even though the change is refused:
    otherwise whoever holds a session (a stolen cookie, an unlocked desk) could guess, without
    limit, the password that also opens the web service. The failure that locks the account ends
    its sessions, this one too."""
    with db.transaction() as session:
        account = session.get(Account, account_id, with_for_update=True)
        right = verify_md5_credential(account.password_hash, md5_hex(current))
        if right:
            replace_password(session, account, password, confirmation, now)
            spend_reset_links(session, account.id, now)
            end_all(session, account.id, now, "password", keep=keep_session)
            access_log.record(session, "password_changed", now, origin, account_id=account.id)
        elif count_failure(session, account, now, origin) is not None:
            end_all(session, account.id, now, "locked")
    if not right:
        raise invalid("current", "Senha atual incorreta.")


def issue_temporary_password(
    db: Database, staff_account_id: int, account_id: int, now: datetime, origin: Origin
) -> str:
    """A new random password for an account, to be changed at its first access (seed 002).
    Returned once, to be handed to the person; only its hash is kept."""
    password = policy.temporary_password()
    with db.transaction() as session:
        account = session.get(Account, account_id, with_for_update=True)
        if account is None or account.kind == "staff":
            raise InvalidInput({"account": "Conta não encontrada."})
        store_password(session, account, password, now, temporary=True)
        spend_reset_links(session, account.id, now)
        end_all(session, account.id, now, "password")
        staff_login = session.scalar(select(Account.login).where(Account.id == staff_account_id))
        access_log.record(
            session,
            "temporary_password",
            now,
            origin,
            account_id=account.id,
            detail=f"emitida por {staff_login}",
        )
    return password


def set_active(
    db: Database, staff_account_id: int, account_id: int, active: bool, now: datetime, origin
) -> None:
    """Deactivate instead of delete (item 41); a deactivated account cannot log in anywhere."""
    with db.transaction() as session:
        staff_login = session.scalar(select(Account.login).where(Account.id == staff_account_id))
        session.execute(update(Account).where(Account.id == account_id).values(active=active))
        if not active:
            spend_reset_links(session, account_id, now)
            end_all(session, account_id, now, "deactivated")
        event = "account_reactivated" if active else "account_deactivated"
        access_log.record(
            session, event, now, origin, account_id=account_id, detail=f"por {staff_login}"
        )
