"""Settings of the provider portal and of outgoing mail (environment variables in the README)."""

import os
from dataclasses import dataclass

import limits.storage

from gateway.config import ConfigError, _bool, _int


@dataclass(frozen=True)
class MailSettings:
    """SMTP when `smtp_host` is set; otherwise every mail is written to TISS_VAR_DIR/outbox/."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    sender: str = "Portal do Prestador <nao-responda@localhost>"

    @classmethod
    def from_env(cls) -> "MailSettings":
        return cls(
            smtp_host=os.environ.get("TISS_SMTP_HOST") or None,
            smtp_port=_int("TISS_SMTP_PORT", 587, minimum=1),
            smtp_user=os.environ.get("TISS_SMTP_USER") or None,
            smtp_password=os.environ.get("TISS_SMTP_PASSWORD") or None,
            smtp_starttls=_bool("TISS_SMTP_STARTTLS", True),
            sender=os.environ.get("TISS_MAIL_FROM") or cls.sender,
        )


@dataclass(frozen=True)
class PortalSettings:
    # None: a random key is generated once into TISS_VAR_DIR/secret_key and reused (one host).
    secret_key: str | None = None
    cookie_secure: bool = True
    rate_limit_storage: str = "memory://"
    login_rate_limit: str = "10 per minute"
    max_upload_bytes: int = 10 * 1024 * 1024
    mail: MailSettings = MailSettings()

    @classmethod
    def from_env(cls) -> "PortalSettings":
        key = os.environ.get("TISS_SECRET_KEY") or None
        if key is not None and len(key) < 32:
            raise ConfigError("TISS_SECRET_KEY must have at least 32 characters")
        return cls(
            secret_key=key,
            cookie_secure=_bool("TISS_COOKIE_SECURE", True),
            rate_limit_storage=_rate_limit_storage(),
            login_rate_limit=os.environ.get("TISS_LOGIN_RATE_LIMIT") or "10 per minute",
            # 0 or less would refuse every upload.
            max_upload_bytes=_int("TISS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024),
            mail=MailSettings.from_env(),
        )


def _rate_limit_storage() -> str:
    """A storage URL of the limits package that Flask-Limiter can use (not its async ones).
    Checked here so that a mistyped scheme is one line at start naming the variable, never the
    URL: it may hold the store's password."""
    value = os.environ.get("TISS_RATE_LIMIT_STORAGE") or "memory://"
    scheme, sep, _ = value.partition("://")
    if not sep or scheme.startswith("async+") or scheme not in limits.storage.SCHEMES:
        raise ConfigError(
            "TISS_RATE_LIMIT_STORAGE is not a storage URL Flask-Limiter can use (memory://, "
            "memcached://host:port, redis://[:password@]host:port/db, ...)"
        )
    return value
