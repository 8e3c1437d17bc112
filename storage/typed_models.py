"""Tables of "Digitação de Guias": guides typed in the portal, kept in a protocol being typed
until the provider sends it; sending turns it into a TISS lot file that goes through the same
pipeline as an uploaded file (the lot, its protocol and the archived message live in the usual
tables)."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, BigId, Money
from storage.types import UtcDateTime


class TypedProtocol(Base):
    """A protocol being typed: one guide type, open until "Finalizar digitação", then sent."""

    __tablename__ = "typed_protocols"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    guide_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # open | finished | sent
    numero_lote: Mapped[str | None] = mapped_column(String(12))
    created_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The archived message of the last send, and the protocol the operator gave the lot.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    protocol_numero: Mapped[str | None] = mapped_column(String(12))

    guides: Mapped[list["TypedGuide"]] = relationship(
        order_by="TypedGuide.id", cascade="all, delete-orphan", back_populates="protocol"
    )


class TypedGuide(Base):
    """One typed guide: the fields as typed (JSON, checked before saving) and the columns the
    listings show."""

    __tablename__ = "typed_guides"
    __table_args__ = (
        UniqueConstraint(
            "typed_protocol_id", "numero_guia_prestador", name="uq_typed_guides_numero"
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # uq_typed_guides_numero starts with it
    typed_protocol_id: Mapped[int] = mapped_column(ForeignKey("typed_protocols.id"))
    numero_guia_prestador: Mapped[str] = mapped_column(String(20))
    numero_carteira: Mapped[str] = mapped_column(String(20))
    # From the beneficiary registry when the card was known, for reference only (field 7 left the
    # message in TISS 4).
    nome_beneficiario: Mapped[str | None] = mapped_column(String(200))
    data_atendimento: Mapped[date] = mapped_column(Date)
    valor: Mapped[Decimal] = mapped_column(Money)
    fields: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    protocol: Mapped[TypedProtocol] = relationship(back_populates="guides")
