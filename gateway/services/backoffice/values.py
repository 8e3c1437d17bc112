"""Small conversions shared by the back-office use cases."""

from datetime import UTC, datetime
from decimal import Decimal

from gateway.services.backoffice.errors import BackOfficeError

CENT = Decimal("0.01")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)


def as_utc(moment: datetime) -> datetime:
    """An instant in UTC. A naive value is taken as UTC: SQLite gives stored values back naive,
    and the API documents that an instant without a time zone is UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def money(value: Decimal, what: str) -> Decimal:
    """A non-negative amount with at most two decimals, as stored."""
    if not value.is_finite() or value < 0:
        raise BackOfficeError(f"{what}: valor {value} inválido (use valores não negativos)")
    if value != value.quantize(CENT) or value > MAX_MONEY:
        raise BackOfficeError(f"{what}: valor {value} fora do formato (até 2 casas decimais)")
    return value.quantize(CENT)


def text(value: str | None, what: str, max_length: int, *, required: bool = False) -> str | None:
    """Trimmed text within the column's length; blank is None (or refused when required)."""
    value = (value or "").strip()
    if not value:
        if required:
            raise BackOfficeError(f"{what}: informe um valor")
        return None
    if len(value) > max_length:
        raise BackOfficeError(f"{what}: no máximo {max_length} caracteres")
    return value
