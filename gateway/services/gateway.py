"""The gateway's process-wide context: settings, database, verified schema sets, clock."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import monotonic
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.config import ConfigError, Settings
from gateway.services import schema_sets
from gateway.services.signatures import SignatureSetup, load_signature_setup
from gateway.tiss.schemas import SchemaRegistry
from storage.db import Database
from storage.models import Operator
from storage.types import as_utc

log = logging.getLogger(__name__)

# TISS dates and times are Brazilian civil time; the database keeps UTC.
BRAZIL = ZoneInfo("America/Sao_Paulo")
# How long a process trusts the registro ANS it read (operator set may change it meanwhile).
OPERATOR_RECHECK_SECONDS = 30.0


@dataclass
class Gateway:
    settings: Settings
    db: Database
    schemas: SchemaRegistry
    _registro_ans: str | None = field(default=None, repr=False)
    _registro_read_at: float = field(default=0.0, repr=False)
    # Trusted CAs, CRLs and the answer-signing key, read once per process (in start).
    signatures: SignatureSetup = field(default_factory=SignatureSetup)

    @classmethod
    def start(cls, settings: Settings, *, compile_schemas: bool = True) -> "Gateway":
        """Open the database and load every schema set; refuses to start on a set whose files do
        not match their SHA-256, or when an accepted version has no schema set, or when the
        signature trust material or signing key cannot be read."""
        signatures = load_signature_setup(settings)
        db = Database(settings.database_url)
        registry = schema_sets.load_registry(db)
        missing = [v for v in settings.accepted_versions if registry.get(v) is None]
        if missing:
            raise ConfigError(
                f"accepted versions without a schema set: {', '.join(missing)}; "
                "import them with `tiss-gateway schemas import PATH`"
            )
        if compile_schemas:
            for version in settings.accepted_versions:
                registry.get(version).compile()
        return cls(settings=settings, db=db, schemas=registry, signatures=signatures)

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    def local(self, moment: datetime) -> datetime:
        """Brazilian civil time of an instant (a naive one is UTC, as stored values are)."""
        return as_utc(moment).astimezone(BRAZIL)

    def accepts(self, version: str | None) -> bool:
        return version in self.settings.accepted_versions and self.schemas.get(version) is not None

    def glosa_tables(self) -> dict[str, frozenset[str]]:
        """The table-38 codes (dm_tipoGlosa) of each accepted version: what an answer in that
        version may carry."""
        return {v: self.schemas.get(v).glosa_codes for v in self.settings.accepted_versions}

    @property
    def newest_version(self) -> str:
        return max(self.settings.accepted_versions)

    def registro_ans(self) -> str | None:
        """This operator's registroANS: TISS_REGISTRO_ANS, else the one `operator set` recorded,
        read again every OPERATOR_RECHECK_SECONDS: `operator set`, run on one host, reaches
        every running host within that time, without a restart."""
        if self.settings.registro_ans:
            return self.settings.registro_ans
        now = monotonic()
        if self._registro_ans is None or now - self._registro_read_at >= OPERATOR_RECHECK_SECONDS:
            with self.db.reading() as session:
                self._registro_ans = session.scalar(select(Operator.registro_ans).limit(1))
            self._registro_read_at = now
        return self._registro_ans
