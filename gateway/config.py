"""Configuration from environment variables (documented in the README)."""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gateway import logs
from gateway.forms import is_digits
from gateway.tiss.hashing import ISO_8859_1, UTF_8
from gateway.tiss.namespaces import is_version
from gateway.tiss.xmlsafe import XmlLimits

if TYPE_CHECKING:
    from gateway.config_portal import PortalSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    pass


def _default_var_dir() -> Path:
    # Set but empty (compose's ${TISS_VAR_DIR:-}) is unset, as for every other variable.
    return Path(os.environ.get("TISS_VAR_DIR") or PROJECT_ROOT / "var")


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on", "sim"):
        return True
    if raw.lower() in ("0", "false", "no", "off", "nao", "não"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw) if raw else None


def _portal_from_env() -> "PortalSettings":
    # Imported here: config_portal reuses this module's helpers.
    from gateway.config_portal import PortalSettings

    return PortalSettings.from_env()


# RFC 6750's b64token: what a client can send after "Bearer " in an HTTP header.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def _metrics_token() -> str | None:
    token = os.environ.get("TISS_METRICS_TOKEN") or None
    if token is not None and not _BEARER_TOKEN.fullmatch(token):
        # A space, an accent or a quote could never arrive intact in the header: /metrics would
        # refuse every scrape.
        raise ConfigError(
            "TISS_METRICS_TOKEN must be letters, digits and - . _ ~ + / (then = for padding), "
            "as a bearer token in an HTTP header can carry"
        )
    return token


def _log_format() -> str | None:
    raw = logs.format_named(os.environ.get("TISS_LOG_FORMAT"))
    if raw not in (None, *logs.FORMATS):
        raise ConfigError(f"TISS_LOG_FORMAT must be json or text, not {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    database_url: str
    registro_ans: str | None  # overrides the operator recorded in the database
    accepted_versions: tuple[str, ...] = ("4.02.00", "4.03.00")
    max_message_bytes: int = 20 * 1024 * 1024
    max_xml_depth: int = 64
    accept_utf8_hash: bool = True
    # A guide number the provider already billed in a protocol not cancelled: refuse the lot
    # with 1308 at reception (README, "Checks and their answers"), or leave it to the analysis.
    refuse_presented_guides: bool = True
    public_url: str | None = None  # base URL written into WSDLs; else taken from the request
    trust_proxy: bool = False
    # Behind deploy/'s nginx, which verifies an optional client certificate and always sets
    # X-SSL-Client-Verify and X-SSL-Client-Cert itself: trust those headers (README,
    # "Client certificates"). Off, they are ignored: a direct client could forge them.
    client_cert_headers: bool = False
    var_dir: Path = field(default_factory=_default_var_dir)
    portal: "PortalSettings" = field(default_factory=_portal_from_env)
    # Digital signatures (README, "Digital signatures"): files read once, at start.
    signature_ca_file: Path | None = None  # PEM bundle of the CAs trusted for signatures
    signature_crl_dir: Path | None = None  # CRLs of those CAs, PEM or DER
    sign_key_file: Path | None = None  # with sign_cert_file: the gateway signs its answers
    sign_cert_file: Path | None = None
    # Observability (README, "Observability").
    log_format: str | None = None  # json | text; None: json under `serve`, text elsewhere
    metrics_token: str | None = None  # when set, GET /metrics needs "Authorization: Bearer <it>"

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
        if not versions:
            raise ConfigError(
                "TISS_ACCEPTED_VERSIONS names no version: list them (4.02.00,4.03.00), or leave "
                "it unset for that default"
            )
        for v in versions:
            if not is_version(v):
                raise ConfigError(f"TISS_ACCEPTED_VERSIONS: {v!r} is not a version like 4.03.00")
        registro = os.environ.get("TISS_REGISTRO_ANS") or None
        if registro is not None and not is_digits(registro, 6):
            raise ConfigError(
                "TISS_REGISTRO_ANS must be the operator's 6-digit ANS registration, "
                f"not {registro!r}"
            )
        return cls(
            database_url=os.environ.get("TISS_DATABASE_URL")
            or f"sqlite:///{(var_dir / 'tiss-gateway.db').as_posix()}",
            registro_ans=registro,
            accepted_versions=versions,
            # A limit of 0 would refuse every message (a depth of -1 broke the depth check).
            max_message_bytes=_int("TISS_MAX_MESSAGE_BYTES", 20 * 1024 * 1024, minimum=1024),
            max_xml_depth=_int("TISS_MAX_XML_DEPTH", 64, minimum=8),
            accept_utf8_hash=_bool("TISS_ACCEPT_UTF8_HASH", True),
            refuse_presented_guides=_bool("TISS_REFUSE_PRESENTED_GUIDES", True),
            public_url=(os.environ.get("TISS_PUBLIC_URL") or "").rstrip("/") or None,
            trust_proxy=_bool("TISS_TRUST_PROXY", False),
            client_cert_headers=_bool("TISS_CLIENT_CERT_HEADERS", False),
            var_dir=var_dir,
            signature_ca_file=_path("TISS_SIGNATURE_CA_FILE"),
            signature_crl_dir=_path("TISS_SIGNATURE_CRL_DIR"),
            sign_key_file=_path("TISS_SIGN_KEY_FILE"),
            sign_cert_file=_path("TISS_SIGN_CERT_FILE"),
            log_format=_log_format(),
            metrics_token=_metrics_token(),
        )
