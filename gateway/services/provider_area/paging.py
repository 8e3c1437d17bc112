"""Pages of long listings (a provider's files, protocols, typed protocols)."""

from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    items: tuple[Any, ...]
    number: int  # 1-based
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: str | int | None) -> int:
    """A page number from a query string: anything that is not a positive integer is page 1."""
    try:
        number = int(raw or 1)
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 1_000_000 else 1


def offset(number: int, size: int = PAGE_SIZE) -> int:
    return (number - 1) * size
