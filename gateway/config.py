"""Configuration from environment variables (documented in the README)."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from gateway.tiss.hashing import ISO_8859_1, UTF_8
from gateway.tiss.namespaces import is_version
from gateway.tiss.xmlsafe import XmlLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    pass


def _default_var_dir() -> Path:
    return Path(os.environ.get("TISS_VAR_DIR", PROJECT_ROOT / "var"))


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on", "sim"):
        return True
    if raw.lower() in ("0", "false", "no", "off", "nao", "não"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    database_url: str
    registro_ans: str | None  # overrides the operator recorded in the database
    accepted_versions: tuple[str, ...] = ("4.02.00", "4.03.00")
    max_message_bytes: int = 20 * 1024 * 1024
    max_xml_depth: int = 64
    accept_utf8_hash: bool = True
    public_url: str | None = None  # base URL written into WSDLs; else taken from the request
    trust_proxy: bool = False
    var_dir: Path = field(default_factory=_default_var_dir)

    @property
    def xml_limits(self) -> XmlLimits:
        return XmlLimits(max_bytes=self.max_message_bytes, max_depth=self.max_xml_depth)

    @property
    def hash_encodings(self) -> tuple[str, ...]:
        return (ISO_8859_1, UTF_8) if self.accept_utf8_hash else (ISO_8859_1,)

    @classmethod
    def from_env(cls) -> "Settings":
        var_dir = _default_var_dir()
        versions = tuple(
            v.strip()
            for v in os.environ.get("TISS_ACCEPTED_VERSIONS", "4.02.00,4.03.00").split(",")
            if v.strip()
        )
        for v in versions:
            if not is_version(v):
                raise ConfigError(f"TISS_ACCEPTED_VERSIONS: {v!r} is not a version like 4.03.00")
        registro = os.environ.get("TISS_REGISTRO_ANS") or None
        if registro is not None and not (registro.isdigit() and len(registro) == 6):
            raise ConfigError("TISS_REGISTRO_ANS must be the operator's 6-digit ANS registration")
        return cls(
            database_url=os.environ.get("TISS_DATABASE_URL")
            or f"sqlite:///{(var_dir / 'tiss-gateway.db').as_posix()}",
            registro_ans=registro,
            accepted_versions=versions,
            max_message_bytes=_int("TISS_MAX_MESSAGE_BYTES", 20 * 1024 * 1024),
            max_xml_depth=_int("TISS_MAX_XML_DEPTH", 64),
            accept_utf8_hash=_bool("TISS_ACCEPT_UTF8_HASH", True),
            public_url=(os.environ.get("TISS_PUBLIC_URL") or "").rstrip("/") or None,
            trust_proxy=_bool("TISS_TRUST_PROXY", False),
            var_dir=var_dir,
        )
