"""The operator's beneficiary registry (carteiras)."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from gateway.forms import CONTROL_MESSAGE, has_invisible_characters
from storage.db import Database
from storage.models import Beneficiary

STATUSES = ("ativo", "suspenso", "cancelado")
# What Excel shows, and saves as CSV, for a long card number in a column it took for numbers:
# "1,23457E+13" (Portuguese) or "1.23457E+13". Only the digits shown reach the file.
SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?E\+[0-9]+", re.IGNORECASE)


# Cards are printed, and typed at reception desks, with separators ("0001 2345 6789 00",
# "0001.2345.6789-00"). The registry keeps a number without them and every lookup drops them,
# so a card is found however it was typed.
_CARD_SEPARATORS = str.maketrans("", "", " .-/")


def card_key(numero: str) -> str:
    """The card number as the registry keeps it: trimmed, without spaces, dots, hyphens, slashes."""
    return numero.strip().translate(_CARD_SEPARATORS)


def same_card(numero: str) -> ColumnElement[bool]:
    """The registry rows of a card typed with or without separators (a row stored before the
    registry dropped them is still found by its exact text)."""
    return Beneficiary.numero_carteira.in_({numero.strip(), card_key(numero)})


def card_holder(numero: str) -> Select[tuple[Beneficiary]]:
    """The registry row of a card, the one stored exactly as typed first: migration 0011 left a
    card with its separators where its plain number was another row's ("0003-1" beside
    "00031"), and asking for one must never answer with the other person."""
    exact = Beneficiary.numero_carteira == numero.strip()
    return select(Beneficiary).where(same_card(numero)).order_by(exact.desc()).limit(1)


class BeneficiaryError(ValueError):
    """A beneficiary that cannot be stored as given (Portuguese message naming the carteira)."""


@dataclass(frozen=True)
class BeneficiaryData:
    numero_carteira: str
    name: str
    plan: str
    status: str
    joined_on: date
    left_on: date | None = None
    card_valid_until: date | None = None


def check_beneficiary(item: BeneficiaryData) -> BeneficiaryData:
    """The item with its texts trimmed, or BeneficiaryError saying what is wrong."""
    carteira = card_key(item.numero_carteira or "")
    if not carteira or len(carteira) > 20:
        raise BeneficiaryError(f"número da carteira {carteira!r} inválido: de 1 a 20 caracteres")
    if has_invisible_characters(carteira):
        raise BeneficiaryError(f"número da carteira {carteira!r}: {CONTROL_MESSAGE}")
    if SCIENTIFIC.fullmatch(carteira):
        raise BeneficiaryError(
            f"número da carteira {carteira} em notação científica: o Excel o tomou por um número "
            "e perdeu dígitos; formate a coluna da carteira como Texto e copie os números de novo"
        )
    where = f"carteira {carteira}"
    # Composed (NFC): a name typed decomposed on a Mac would otherwise match no search and be
    # counted longer than it looks.
    name, plan = (unicodedata.normalize("NFC", (t or "").strip()) for t in (item.name, item.plan))
    # PostgreSQL refuses a NUL, and the name goes into eligibility answers (XML) and typed
    # guides, where a line break or an escape does not belong. The field is named, its text not.
    for field, text in (("nome", name), ("plano", plan)):
        if has_invisible_characters(text):
            raise BeneficiaryError(f"{where}: {field}: {CONTROL_MESSAGE}")
    if not name or len(name) > 200:
        raise BeneficiaryError(f"{where}: nome obrigatório, até 200 caracteres")
    if not plan or len(plan) > 100:
        raise BeneficiaryError(f"{where}: plano obrigatório, até 100 caracteres")
    if item.status not in STATUSES:
        raise BeneficiaryError(
            f"{where}: situação {item.status!r} inválida; use {', '.join(STATUSES)}"
        )
    if item.left_on is not None and item.left_on < item.joined_on:
        raise BeneficiaryError(f"{where}: data de desligamento anterior à data de adesão")
    return BeneficiaryData(
        carteira, name, plan, item.status, item.joined_on, item.left_on, item.card_valid_until
    )


def upsert_beneficiaries(db: Database, items: list[BeneficiaryData]) -> int:
    """Insert or update by numero_carteira, all in one transaction (all or none). Returns how
    many. A carteira given twice is refused: which of the two was meant is unknowable."""
    checked = [(check_beneficiary(item), item.numero_carteira.strip()) for item in items]
    now = datetime.now(UTC)
    with db.transaction() as session:
        seen: set[str] = set()
        for item, typed in checked:
            row = _row_to_update(session, item.numero_carteira, typed)
            target = row.numero_carteira if row is not None else item.numero_carteira
            if target in seen:
                raise BeneficiaryError(f"carteira {target} informada mais de uma vez")
            seen.add(target)
            if row is None:
                row = Beneficiary(numero_carteira=item.numero_carteira)
                session.add(row)
            row.name, row.plan, row.status = item.name, item.plan, item.status
            row.joined_on, row.left_on = item.joined_on, item.left_on
            row.card_valid_until, row.updated_at = item.card_valid_until, now
    return len(checked)


def _row_to_update(session: Session, key: str, typed: str) -> Beneficiary | None:
    """The row stored exactly as typed first, as lookups do (card_holder): a card migration 0011
    kept with its separators ("0003-1" beside another person's "00031") is updated as itself,
    never through its plain number, which is the other person's row."""
    if typed != key:
        legacy = session.scalar(select(Beneficiary).where(Beneficiary.numero_carteira == typed))
        if legacy is not None:
            return legacy
    return session.scalar(select(Beneficiary).where(Beneficiary.numero_carteira == key))
