""" "Esqueci minha senha": a link with a random token is mailed to the account's e-mail; only the
token's SHA-256 is stored; it works once, for one hour."""

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from gateway.services.accounts import access_log, policy
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.authentication import find_account
from gateway.services.accounts.credentials import replace_password, spend_reset_links
from gateway.services.accounts.sessions import end_all, token_digest
from gateway.services.mail import Mailer
from gateway.services.validation import InvalidInput
from storage.db import Database
from storage.models import Account
from storage.portal_models import PasswordResetToken

log = logging.getLogger(__name__)

INVALID_LINK = "Este link de redefinição de senha é inválido, já foi usado ou expirou."


def request_reset(
    db: Database,
    mailer: Mailer,
    typed_login: str,
    link_for: Callable[[str], str],
    now: datetime,
    origin: Origin,
) -> None:
    """Always silent about whether the login exists: the page says the same thing either way,
    even when the mail server fails (that failure is logged and kept in the access log).

    The new link is stored first, the mail sent outside any transaction (an SMTP server may take
    up to 30 s, and on SQLite a write transaction holds the whole database), and only once it has
    gone are the links mailed before spent: a mail that fails leaves the person the link they
    already had."""
    with db.transaction() as session:
        account = find_account(session, typed_login)
        if account is None or not account.active or not account.email:
            access_log.record(
                session,
                "password_reset_requested",
                now,
                origin,
                account_id=account.id if account is not None else None,
                login=typed_login,
                detail="sem envio (conta inexistente, inativa ou sem e-mail)",
            )
            return
        token = secrets.token_urlsafe(32)
        link = PasswordResetToken(
            account_id=account.id,
            token_sha256=token_digest(token),
            created_at=now,
            expires_at=now + policy.RESET_LINK_TTL,
        )
        session.add(link)
        session.flush()
        account_id, link_id, email, login = account.id, link.id, account.email, account.login
    try:
        _mail_link(mailer, email, login, link_for(token))
    except Exception as exc:  # SMTP down, the address refused, no SMTPUTF8 for an accented one
        log.error(
            "password reset link for account %s not mailed: %s", account_id, type(exc).__name__
        )
        with db.transaction() as session:
            spend_reset_links(session, account_id, now, only=link_id)
            access_log.record(
                session,
                "password_reset_requested",
                now,
                origin,
                account_id=account_id,
                detail="e-mail não enviado (falha no servidor de e-mail)",
            )
        return
    with db.transaction() as session:
        spend_reset_links(session, account_id, now, before=link_id)  # only the newest works
        access_log.record(session, "password_reset_requested", now, origin, account_id=account_id)


def _mail_link(mailer: Mailer, email: str, login: str, link: str) -> None:
    minutes = int(policy.RESET_LINK_TTL.total_seconds() // 60)
    mailer.send(
        email,
        "Redefinição de senha do Portal do Prestador",
        f"Recebemos um pedido de nova senha para o login {login}.\n\n"
        f"Para criar uma nova senha, abra o link abaixo (válido por {minutes} minutos, "
        f"uma única vez):\n\n{link}\n\n"
        "Se você não fez este pedido, ignore esta mensagem: sua senha continua a mesma.\n",
    )


def _live_token(session, token: str, now: datetime) -> PasswordResetToken:
    row = session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_sha256 == token_digest(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidInput({"token": INVALID_LINK})
    return row


def check_token(db: Database, token: str, now: datetime) -> str:
    """The login the link is for; InvalidInput when it cannot be used."""
    with db.reading() as session:
        row = _live_token(session, token, now)
        return session.scalar(select(Account.login).where(Account.id == row.account_id))


def reset_password(
    db: Database, token: str, password: str, confirmation: str, now: datetime, origin: Origin
) -> None:
    with db.transaction() as session:
        row = _live_token(session, token, now)
        account = session.get(Account, row.account_id, with_for_update=True)
        if not account.active:
            raise InvalidInput({"token": INVALID_LINK})
        replace_password(session, account, password, confirmation, now)
        spend_reset_links(session, account.id, now)  # this link and any other
        end_all(session, account.id, now, "password")
        access_log.record(session, "password_reset", now, origin, account_id=account.id)
