"""The operator's beneficiary registry (carteiras)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import Beneficiary

STATUSES = ("ativo", "suspenso", "cancelado")


@dataclass(frozen=True)
class BeneficiaryData:
    numero_carteira: str
    name: str
    plan: str
    status: str
    joined_on: date
    left_on: date | None = None
    card_valid_until: date | None = None


def upsert_beneficiaries(db: Database, items: list[BeneficiaryData]) -> int:
    """Insert or update by numero_carteira, all in one transaction. Returns how many."""
    now = datetime.now(UTC)
    with db.transaction() as session:
        for item in items:
            if item.status not in STATUSES:
                raise ValueError(
                    f"carteira {item.numero_carteira}: situação {item.status!r} "
                    f"inválida; use {', '.join(STATUSES)}"
                )
            row = session.scalar(
                select(Beneficiary).where(Beneficiary.numero_carteira == item.numero_carteira)
            )
            if row is None:
                row = Beneficiary(numero_carteira=item.numero_carteira)
                session.add(row)
            row.name, row.plan, row.status = item.name, item.plan, item.status
            row.joined_on, row.left_on = item.joined_on, item.left_on
            row.card_valid_until, row.updated_at = item.card_valid_until, now
    return len(items)
