"""Tables of the provider portal: account security (password history, sessions, reset tokens,
access log), credentialing requests with everything a candidate sends, the operator's decisions,
and delegations (Secretária/o acting for a provider)."""

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from storage.models import Account, Base, BigId
from storage.types import UtcDateTime


class PasswordHistory(Base):
    """Every password an account had (argon2 over its MD5), so the last 3 are not reused."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AccessLogEntry(Base):
    """Append-only (Segurança e Privacidade 66/70): the ORM refuses updates and deletes; only
    `tiss-gateway portal prune` removes entries older than the retention period."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    login: Mapped[str | None] = mapped_column(String(254))  # as typed, for failed logins
    event: Mapped[str] = mapped_column(String(40))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(String(300))


class PortalSession(Base):
    """A logged-in browser. The cookie carries a random token; only its SHA-256 is stored, so any
    host can serve any request and a session can be ended server-side."""

    __tablename__ = "portal_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(20))  # logout | idle | password
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class PasswordResetToken(Base):
    """ "Esqueci minha senha": the e-mailed link's token, stored only as its SHA-256."""

    __tablename__ = "password_reset_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CredentialingRequest(Base):
    """A candidate's request to become a credentialed provider, from self-registration to the
    operator's final decision. One per candidate account."""

    __tablename__ = "credentialing_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    person_kind: Mapped[str] = mapped_column(String(2))  # PJ | PF
    document: Mapped[str] = mapped_column(String(14), index=True)  # CNPJ or CPF, normalised
    status: Mapped[str] = mapped_column(String(30), index=True)
    # Which part a complement request sends the candidate back to: pre | final.
    complement_phase: Mapped[str | None] = mapped_column(String(10))
    tipo_cnpj: Mapped[str | None] = mapped_column(String(40))
    razao_social: Mapped[str | None] = mapped_column(String(200))
    nome_fantasia: Mapped[str | None] = mapped_column(String(200))
    segmento: Mapped[str | None] = mapped_column(String(60))
    tipo_estabelecimento: Mapped[str | None] = mapped_column(String(60))
    inscricao_estadual: Mapped[str | None] = mapped_column(String(20))
    site: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    celular: Mapped[str | None] = mapped_column(String(20))
    banco: Mapped[str | None] = mapped_column(String(3))
    agencia: Mapped[str | None] = mapped_column(String(10))
    conta: Mapped[str | None] = mapped_column(String(20))
    regime_tributario: Mapped[str | None] = mapped_column(String(40))
    # Identificação complementar (after pre-approval).
    subtipo_estabelecimento: Mapped[str | None] = mapped_column(String(60))
    rede: Mapped[str | None] = mapped_column(String(300))  # codes separated by ';'
    grau_complexidade: Mapped[str | None] = mapped_column(String(10))
    questionario: Mapped[str | None] = mapped_column(Text)  # JSON {question code: true|false}
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    account: Mapped[Account] = relationship()
    addresses: Mapped[list["CredentialingAddress"]] = relationship(
        order_by="CredentialingAddress.id", cascade="all, delete-orphan"
    )
    contacts: Mapped[list["CredentialingContact"]] = relationship(
        order_by="CredentialingContact.id", cascade="all, delete-orphan"
    )
    cities: Mapped[list["CredentialingCity"]] = relationship(
        order_by="CredentialingCity.id", cascade="all, delete-orphan"
    )
    representative: Mapped["TechnicalRepresentative | None"] = relationship(
        cascade="all, delete-orphan"
    )
    documents: Mapped[list["CredentialingDocument"]] = relationship(
        order_by="CredentialingDocument.id", cascade="all, delete-orphan"
    )
    decisions: Mapped[list["CredentialingDecision"]] = relationship(
        order_by="CredentialingDecision.id"
    )


class CredentialingAddress(Base):
    __tablename__ = "credentialing_addresses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("credentialing_requests.id"), index=True)
    cep: Mapped[str] = mapped_column(String(8))
    logradouro: Mapped[str] = mapped_column(String(200))
    numero: Mapped[str] = mapped_column(String(20))
    complemento: Mapped[str | None] = mapped_column(String(100))
    bairro: Mapped[str | None] = mapped_column(String(100))
    municipio: Mapped[str] = mapped_column(String(100))
    uf: Mapped[str] = mapped_column(String(2))
    cnes: Mapped[str] = mapped_column(String(7))


class CredentialingContact(Base):
    __tablename__ = "credentialing_contacts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("credentialing_requests.id"), index=True)
    nome: Mapped[str] = mapped_column(String(200))
    cargo: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    telefone: Mapped[str] = mapped_column(String(20))


class CredentialingCity(Base):
    """A city the candidate serves (Cidades de Atuação)."""

    __tablename__ = "credentialing_cities"
    __table_args__ = (
        UniqueConstraint("request_id", "municipio", "uf", name="uq_credentialing_cities_city"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # uq_credentialing_cities_city starts with it
    request_id: Mapped[int] = mapped_column(ForeignKey("credentialing_requests.id"))
    municipio: Mapped[str] = mapped_column(String(100))
    uf: Mapped[str] = mapped_column(String(2))


class TechnicalRepresentative(Base):
    """Responsável/Diretor Técnico."""

    __tablename__ = "technical_representatives"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("credentialing_requests.id"), unique=True)
    nome: Mapped[str] = mapped_column(String(200))
    conselho: Mapped[str] = mapped_column(String(10))
    numero_conselho: Mapped[str] = mapped_column(String(15))
    uf_conselho: Mapped[str] = mapped_column(String(2))
    cpf: Mapped[str] = mapped_column(String(11))
    rg: Mapped[str] = mapped_column(String(20))


class CredentialingDocument(Base):
    """An uploaded document, kept in the database with its SHA-256 (every host sees it, and it is
    backed up with the rest). The content is loaded only when downloaded."""

    __tablename__ = "credentialing_documents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("credentialing_requests.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))  # from the magic bytes
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))


class CredentialingDecision(Base):
    """Every step of a request: who (account and login), when, from which status to which, why."""

    __tablename__ = "credentialing_decisions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("credentialing_requests.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    actor_login: Mapped[str] = mapped_column(String(254))
    actor_kind: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str | None] = mapped_column(Text)


class Delegation(Base):
    """A Secretária/o account acting for a provider with some roles (seed 003): invited by the
    provider, accepted for a period or indefinitely, revocable."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    delegate_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    roles: Mapped[str] = mapped_column(String(100))  # role codes separated by ','
    status: Mapped[str] = mapped_column(String(20))  # invited | active | declined | revoked
    invited_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    invited_at: Mapped[datetime] = mapped_column(UtcDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # None: always
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    delegate: Mapped[Account] = relationship(foreign_keys=[delegate_account_id])


@event.listens_for(AccessLogEntry, "before_update")
@event.listens_for(AccessLogEntry, "before_delete")
def _access_log_is_append_only(_mapper, _connection, _target) -> None:
    raise PermissionError("the access log is append-only")
