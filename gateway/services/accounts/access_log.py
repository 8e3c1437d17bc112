"""The access log (items 66/70): one row per login, failure, lock, logout, expiry and password
event, never updated; `prune` removes what is older than the retention period."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from gateway.services.accounts.policy import ACCESS_LOG_RETENTION, RESET_LINK_TTL
from storage.db import Database
from storage.portal_models import AccessLogEntry, PasswordResetToken, PortalSession

LABELS = {
    "login_ok": "Acesso",
    "login_failed": "Tentativa de acesso sem sucesso",
    "ws_login_failed": "Tentativa de acesso sem sucesso pelo web service",
    "ws_login_refused_locked": (
        "Tentativa de acesso sem sucesso pelo web service com acesso bloqueado"
    ),
    "backoffice_login_failed": "Tentativa de acesso sem sucesso pela API da operadora",
    "backoffice_login_refused_locked": "Tentativa pela API da operadora com acesso bloqueado",
    "login_refused_locked": "Tentativa com acesso bloqueado",
    "account_locked": "Acesso bloqueado por tentativas sem sucesso",
    "logout": "Saída",
    "session_expired": "Sessão encerrada por inatividade",
    "password_changed": "Senha alterada",
    "password_reset_requested": "Pedido de nova senha",
    "password_reset": "Senha redefinida pelo link enviado por e-mail",
    "temporary_password": "Senha temporária emitida pela operadora",
    "account_created": "Conta criada",
    "account_deactivated": "Conta desativada pela operadora",
    "account_reactivated": "Conta reativada pela operadora",
}


LOGIN_OK = "login_ok"
# Every refused attempt to log in to an account, through any door: the portal, the web service
# (ws_login), the back office (backoffice.staff); those made while it was locked included.
FAILED_ATTEMPTS = (
    "login_failed",
    "login_refused_locked",
    "ws_login_failed",
    "ws_login_refused_locked",
    "backoffice_login_failed",
    "backoffice_login_refused_locked",
)


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the access log records it."""

    remote_addr: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class AccessView:
    occurred_at: datetime
    event: str
    label: str
    remote_addr: str | None
    detail: str | None


def record(
    session: Session,
    event: str,
    now: datetime,
    origin: Origin,
    *,
    account_id: int | None = None,
    login: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AccessLogEntry(
            occurred_at=now,
            account_id=account_id,
            login=(login or None) and login[:254],
            event=event,
            remote_addr=(origin.remote_addr or None) and origin.remote_addr[:64],
            user_agent=(origin.user_agent or None) and origin.user_agent[:300],
            detail=(detail or None) and detail[:300],
        )
    )


@dataclass(frozen=True)
class SinceLastLogin:
    """What the portal shows after a login (item 42)."""

    at: datetime | None  # the previous portal login; None when none is logged (first, or pruned)
    failures: int  # failed attempts on the account since then


def since_last_login(session: Session, account_id: int) -> SinceLastLogin:
    """Read from the access log, not from the account's counter of failures in a row: a success
    through another door (a web-service message, a back-office call) resets that counter, and an
    attempt on a locked account does not move it. Called before this login is logged."""
    last = session.execute(
        select(AccessLogEntry.id, AccessLogEntry.occurred_at)
        .where(AccessLogEntry.account_id == account_id, AccessLogEntry.event == LOGIN_OK)
        .order_by(AccessLogEntry.id.desc())
        .limit(1)
    ).first()
    failures = (
        select(func.count())
        .select_from(AccessLogEntry)
        .where(
            AccessLogEntry.account_id == account_id,
            AccessLogEntry.event.in_(FAILED_ATTEMPTS),
        )
    )
    if last is not None:
        # By id, the order entries were written in, whatever clock wrote their times.
        failures = failures.where(AccessLogEntry.id > last.id)
    return SinceLastLogin(last.occurred_at if last else None, session.scalar(failures) or 0)


def recent(db: Database, account_id: int, limit: int = 20) -> list[AccessView]:
    with db.reading() as session:
        rows = session.scalars(
            select(AccessLogEntry)
            .where(AccessLogEntry.account_id == account_id)
            .order_by(AccessLogEntry.id.desc())
            .limit(limit)
        )
        return [
            AccessView(
                r.occurred_at, r.event, LABELS.get(r.event, r.event), r.remote_addr, r.detail
            )
            for r in rows
        ]


@dataclass(frozen=True)
class Pruned:
    access_log: int
    sessions: int
    reset_tokens: int


def prune(db: Database, now: datetime) -> Pruned:
    """Run daily (cron or a systemd timer: `tiss-gateway portal prune`). A Core DELETE, on
    purpose: the ORM itself refuses to delete access-log rows."""
    cutoff = now - ACCESS_LOG_RETENTION
    with db.transaction() as session:
        log_rows = session.execute(
            delete(AccessLogEntry).where(AccessLogEntry.occurred_at < cutoff)
        ).rowcount
        session_rows = session.execute(
            delete(PortalSession).where(
                or_(PortalSession.ended_at < cutoff, PortalSession.last_seen_at < cutoff)
            )
        ).rowcount
        token_rows = session.execute(
            delete(PasswordResetToken).where(PasswordResetToken.expires_at < now - RESET_LINK_TTL)
        ).rowcount
    return Pruned(log_rows, session_rows, token_rows)
