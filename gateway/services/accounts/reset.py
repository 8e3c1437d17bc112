""" "Esqueci minha senha": a link with a random token is mailed to the account's e-mail; only the
token's SHA-256 is stored; it works once, for one hour."""

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

INVALID_LINK = "Este link de redefinição de senha é inválido, já foi usado ou expirou."


def request_reset(
    db: Database,
    mailer: Mailer,
    typed_login: str,
    link_for: Callable[[str], str],
    now: datetime,
    origin: Origin,
) -> None:
    """Always silent about whether the login exists: the page says the same thing either way."""
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
        spend_reset_links(session, account.id, now)  # only the newest link works
        session.add(
            PasswordResetToken(
                account_id=account.id,
                token_sha256=token_digest(token),
                created_at=now,
                expires_at=now + policy.RESET_LINK_TTL,
            )
        )
        access_log.record(session, "password_reset_requested", now, origin, account_id=account.id)
        email, login = account.email, account.login
    minutes = int(policy.RESET_LINK_TTL.total_seconds() // 60)
    mailer.send(
        email,
        "Redefinição de senha do Portal do Prestador",
        f"Recebemos um pedido de nova senha para o login {login}.\n\n"
        f"Para criar uma nova senha, abra o link abaixo (válido por {minutes} minutos, "
        f"uma única vez):\n\n{link_for(token)}\n\n"
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
