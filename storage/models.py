"""The gateway's tables. The schema is created and changed only through Alembic migrations."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UtcDateTime

# Explicit constraint names so migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (the rowid alias, auto-incrementing) on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")
Money = Numeric(12, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Operator(Base):
    """This operator (one per deployment); its registroANS is the destination messages must name."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registro_ans: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cnpj: Mapped[str | None] = mapped_column(String(14))  # numeroCNPJ of statements
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Provider(Base):
    """A credentialed provider (prestador). Deactivated, never deleted."""

    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_kind: Mapped[str] = mapped_column(String(2))  # PJ | PF
    cnpj: Mapped[str | None] = mapped_column(String(14), unique=True)
    cpf: Mapped[str | None] = mapped_column(String(11), unique=True)
    codigo_na_operadora: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # CNES of the establishment; 9999999 is the standard's value for "none informed".
    cnes: Mapped[str] = mapped_column(String(7), default="9999999", server_default="9999999")
    status: Mapped[str] = mapped_column(String(20))  # approved | suspended
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Every message of this provider must carry a valid digital signature (by agreement).
    require_signature: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ProviderCertificate(Base):
    """A certificate the provider may use instead of its web-service password (Segurança e
    Privacidade item 3, by agreement), registered by the operator (`tiss-gateway provider
    add-certificate`). Known by the SHA-256 of its DER encoding; the rest is for people."""

    __tablename__ = "provider_certificates"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # one provider per certificate
    subject: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str] = mapped_column(String(500))
    serial: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())

    provider: Mapped[Provider] = relationship()


class Account(Base):
    """A login. Provider accounts sign TISS web-service messages (loginSenhaPrestador) and, later,
    the portal, with the same credential: argon2 over the MD5 hex of the password."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    login: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # provider | staff | delegate
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Portal: who the person is, where mail goes, and seed 002's "change it at first access".
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    cpf: Mapped[str | None] = mapped_column(String(11), index=True)  # delegates (Secretária/o)
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    provider: Mapped[Provider | None] = relationship()


class Message(Base):
    """Every message received, accepted or not, with the answer given. Append-only."""

    __tablename__ = "messages"
    # A provider's messages newest first (the portal's "Consultar Arquivos"), read page by page.
    __table_args__ = (Index("ix_messages_provider_id_id", "provider_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # soap | upload
    service: Mapped[str] = mapped_column(String(60))
    endpoint_version: Mapped[str | None] = mapped_column(String(8))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    raw_request: Mapped[bytes] = mapped_column(LargeBinary)
    request_size: Mapped[int] = mapped_column(BigInteger)
    # None for a request refused unread (above the size limit): request_size is then the size
    # it announced. These request columns can never be changed (triggers of migration 0012).
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    request_charset: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[str | None] = mapped_column(String(8))
    tipo_transacao: Mapped[str | None] = mapped_column(String(40))
    sequencial: Mapped[str | None] = mapped_column(String(12))
    login: Mapped[str | None] = mapped_column(String(60))
    # No index of its own: ix_messages_provider_id_id starts with it (every message written
    # updated both).
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    hash_informed: Mapped[str | None] = mapped_column(String(64))
    hash_variant: Mapped[str | None] = mapped_column(String(20))  # iso-8859-1 | utf-8 | None
    outcome: Mapped[str] = mapped_column(
        String(20), index=True
    )  # accepted|duplicate|rejected|error
    codes: Mapped[str | None] = mapped_column(String(200))  # table-38 codes, comma-separated
    fault: Mapped[str | None] = mapped_column(String(40))  # st_tissFault when answered by fault
    detail: Mapped[str | None] = mapped_column(Text)  # every schema error, in full
    raw_response: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_charset: Mapped[str | None] = mapped_column(String(20))
    protocol_id: Mapped[int | None] = mapped_column(ForeignKey("protocols.id"), index=True)
    # Digital signature: verified | unverified | rejected | missing; None when the message had
    # none (and needed none) or failed an earlier check. The detail names the signer, the form
    # (XAdES or XML-DSig), what revocation checking found, or why it was refused.
    signature_status: Mapped[str | None] = mapped_column(String(20))
    signature_detail: Mapped[str | None] = mapped_column(Text)
    # The name of the file a provider uploaded in the portal (None for web-service messages).
    file_name: Mapped[str | None] = mapped_column(String(200))
    # How the sender authenticated: password (loginSenhaPrestador), certificate (a client
    # certificate registered for the provider) or portal (the upload's logged-in user); None
    # when it did not. The SHA-256 of the client certificate nginx verified, when trusted.
    auth_method: Mapped[str | None] = mapped_column(String(20))
    client_cert_sha256: Mapped[str | None] = mapped_column(String(64))


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("provider_id", "numero_lote", name="uq_lots_provider_lote"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    numero_lote: Mapped[str] = mapped_column(String(12))
    content_digest: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(8))
    guide_type: Mapped[str] = mapped_column(String(30))
    guide_count: Mapped[int] = mapped_column(Integer)
    total_value: Mapped[Decimal] = mapped_column(Money)
    # Indexed: the back office lists lots received since a time.
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)

    guides: Mapped[list["Guide"]] = relationship(order_by="Guide.position", back_populates="lot")


class Guide(Base):
    __tablename__ = "guides"
    __table_args__ = (Index("ix_guides_provider_numero", "provider_id", "numero_guia_prestador"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    position: Mapped[int] = mapped_column(Integer)
    guide_type: Mapped[str] = mapped_column(String(30))
    numero_guia_prestador: Mapped[str] = mapped_column(String(20))
    numero_guia_operadora: Mapped[str | None] = mapped_column(String(20))
    numero_carteira: Mapped[str] = mapped_column(String(20))
    atendimento_rn: Mapped[str] = mapped_column(String(1))
    data_realizacao: Mapped[str | None] = mapped_column(String(10))
    valor_informado: Mapped[Decimal] = mapped_column(Money)
    # Set by the operator's analysis (back office); None until analysed.
    valor_processado: Mapped[Decimal | None] = mapped_column(Money)
    valor_liberado: Mapped[Decimal | None] = mapped_column(Money)

    lot: Mapped[Lot] = relationship(back_populates="guides")
    items: Mapped[list["GuideItem"]] = relationship(
        order_by="GuideItem.sequencial", back_populates="guide"
    )
    glosas: Mapped[list["Glosa"]] = relationship(order_by="Glosa.id", back_populates="guide")


class GuideItem(Base):
    """A procedure (or other billed item) of a guide, as informed and as analysed."""

    __tablename__ = "guide_items"
    __table_args__ = (UniqueConstraint("guide_id", "sequencial", name="uq_guide_items_seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No index of its own: uq_guide_items_seq starts with it (every item written updated both).
    guide_id: Mapped[int] = mapped_column(ForeignKey("guides.id"))
    sequencial: Mapped[int] = mapped_column(Integer)
    data_realizacao: Mapped[str | None] = mapped_column(String(10))
    codigo_tabela: Mapped[str] = mapped_column(String(2))
    codigo_procedimento: Mapped[str] = mapped_column(String(10))
    descricao: Mapped[str] = mapped_column(String(150))
    quantidade: Mapped[Decimal] = mapped_column(Numeric(13, 4))
    valor_informado: Mapped[Decimal] = mapped_column(Money)
    valor_processado: Mapped[Decimal | None] = mapped_column(Money)
    valor_liberado: Mapped[Decimal | None] = mapped_column(Money)

    guide: Mapped[Guide] = relationship(back_populates="items")


class Glosa(Base):
    """A denial recorded by the operator's analysis, on a whole guide or on one of its items."""

    __tablename__ = "glosas"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocols.id"), index=True)
    guide_id: Mapped[int] = mapped_column(ForeignKey("guides.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("guide_items.id"))
    codigo: Mapped[str] = mapped_column(String(4))  # table 38
    valor: Mapped[Decimal] = mapped_column(Money)
    descricao: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(60))

    guide: Mapped[Guide] = relationship(back_populates="glosas")


class Protocol(Base):
    __tablename__ = "protocols"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    numero: Mapped[str | None] = mapped_column(String(12), unique=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    status: Mapped[int] = mapped_column(Integer)  # dm_statusProtocolo 1..9
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    analyzed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    lot: Mapped[Lot] = relationship()
    history: Mapped[list["ProtocolStatusChange"]] = relationship(
        order_by="ProtocolStatusChange.id", back_populates="protocol"
    )


class ProtocolStatusChange(Base):
    __tablename__ = "protocol_status_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocols.id"), index=True)
    status: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(Text)

    protocol: Mapped[Protocol] = relationship(back_populates="history")


class SchemaFile(Base):
    """Files of schema sets imported by the operator (`tiss-gateway schemas import`). Kept in the
    database so that every gateway host sees the same sets."""

    __tablename__ = "schema_files"
    __table_args__ = (
        UniqueConstraint("version", "file_name", name="uq_schema_files_version_file"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(8))  # uq_schema_files_version_file
    file_name: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Beneficiary(Base):
    """A beneficiary of this operator's plans, as the operator's registry knows it."""

    __tablename__ = "beneficiaries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    numero_carteira: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # ativo | suspenso | cancelado
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    card_valid_until: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Payment(Base):
    """A payment to a provider on a date, for a competência, covering guides of its protocols."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    data_pagamento: Mapped[date] = mapped_column(Date, index=True)
    competencia: Mapped[str] = mapped_column(String(6), index=True)  # AAAAMM
    forma_pagamento: Mapped[str] = mapped_column(String(1))  # dm_formaPagamento
    banco: Mapped[str | None] = mapped_column(String(4))
    agencia: Mapped[str | None] = mapped_column(String(7))
    conta: Mapped[str | None] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(60))

    lines: Mapped[list["PaymentLine"]] = relationship(
        order_by="PaymentLine.id", back_populates="payment"
    )
    adjustments: Mapped[list["PaymentAdjustment"]] = relationship(
        order_by="PaymentAdjustment.id", back_populates="payment"
    )


class PaymentLine(Base):
    """What a payment pays for one guide of one protocol."""

    __tablename__ = "payment_lines"
    __table_args__ = (UniqueConstraint("payment_id", "guide_id", name="uq_payment_lines_guide"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))  # uq_payment_lines_guide
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocols.id"), index=True)
    guide_id: Mapped[int] = mapped_column(ForeignKey("guides.id"))
    valor_pago: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[Payment] = relationship(back_populates="lines")
    guide: Mapped[Guide] = relationship()
    protocol: Mapped[Protocol] = relationship()


class PaymentAdjustment(Base):
    """A debit or credit on a payment (ct_descontos)."""

    __tablename__ = "payment_adjustments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    indicador: Mapped[str] = mapped_column(String(1))  # 1 débito, 2 crédito
    tipo: Mapped[str] = mapped_column(String(2))  # dm_debitoCreditoTipo
    descricao: Mapped[str] = mapped_column(String(40))
    valor: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[Payment] = relationship(back_populates="adjustments")


# The portal's tables live in their own module; importing it here registers them on Base.metadata
# wherever the models are loaded (migrations, tests wiping tables).
from storage import portal_models, typed_models  # noqa: E402, F401
