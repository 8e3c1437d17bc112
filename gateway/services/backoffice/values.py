"""Small conversions shared by the back-office use cases."""

from decimal import Decimal

from gateway.services.backoffice.errors import BackOfficeError

# The API's convention too: an instant without a time zone is UTC.
from storage.types import as_utc as as_utc

CENT = Decimal("0.01")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)


def money(value: Decimal, what: str) -> Decimal:
    """A non-negative amount with at most two decimals, as stored."""
    if not value.is_finite() or value < 0:
        raise BackOfficeError(f"{what}: valor {value} inválido (use valores não negativos)")
    if value > MAX_MONEY:
        raise BackOfficeError(f"{what}: valor {value} acima do máximo ({MAX_MONEY})")
    if value != value.quantize(CENT):
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
