"""The numbers of the security rules, each with the item of "Segurança e Privacidade" it meets."""

import secrets
import string
from datetime import datetime, timedelta

from gateway.services.validation import invalid

MIN_LENGTH = 8  # item 67, with upper and lower case, a digit and a symbol
MAX_AGE = timedelta(days=180)  # item 68
MAX_FAILURES = 5  # item 69
LOCK_TIME = timedelta(minutes=15)  # item 69: at least 5 minutes
REUSE_DEPTH = 3  # item 75
IDLE_TIMEOUT = timedelta(minutes=30)  # item 76
ACCESS_LOG_RETENTION = timedelta(days=90)  # items 66/70
RESET_LINK_TTL = timedelta(hours=1)
# One message whatever went wrong (unknown login, wrong password, locked, inactive): item 51.
BAD_LOGIN = "Login ou senha inválidos."
POLICY_TEXT = (
    "ao menos 8 caracteres, com letra maiúscula, letra minúscula, número e símbolo "
    "(por exemplo ! @ # $ %)"
)


def password_problem(password: str) -> str | None:
    """What item 67 finds wrong with the password, as a clause ("a senha deve ter ..."), or
    None: the portal's forms, the back office and the CLI each word the refusal their way."""
    rules = (
        len(password) >= MIN_LENGTH,
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() and not c.isspace() for c in password),
    )
    if not all(rules):
        return f"a senha deve ter {POLICY_TEXT}"
    if len(password) > 128:
        return "a senha deve ter no máximo 128 caracteres"
    return None


def check_policy(password: str, field: str = "password") -> None:
    if problem := password_problem(password):
        raise invalid(field, f"A{problem[1:]}.")


def temporary_password() -> str:
    """A random password that meets the policy, for an account the operator (re)creates."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return (
        secrets.choice(string.ascii_uppercase)
        + body
        + secrets.choice(string.digits)
        + secrets.choice("@#$%*!")
        + secrets.choice(string.ascii_lowercase)
    )


def password_expired(changed_at: datetime, now: datetime) -> bool:
    return now - changed_at > MAX_AGE


def after_login(now: datetime, new_hash: str | None) -> dict:
    """What a successful login writes on its account (portal and back office): failures and any
    lock cleared, the time, and the password's hash made again with current parameters when
    there is one (passwords.upgraded_hash)."""
    values = {"failed_attempts": 0, "locked_until": None, "last_login_at": now}
    if new_hash is not None:
        values["password_hash"] = new_hash
    return values


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now
