"""Reading xs:date values (st_data) of schema-valid messages.

xs:date allows what Python's date cannot hold or `date.fromisoformat` does not read: a time zone
after the day (2026-11-03-03:00, 2026-11-03Z), years of more than four digits (12026-01-01) and
negative years (-2026-01-01). The zone says nothing about which day it is: the day is what is
kept. A year outside 1-9999 is no day anyone can have meant; the caller refuses it (1323).
"""

import re
from datetime import date

_XS_DATE = re.compile(r"(-?)([0-9]{4,})-([0-9]{2})-([0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")


class DateOutOfRange(ValueError):
    """A schema-valid xs:date whose year is outside 1-9999."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"data {text} fora do intervalo aceito (anos 0001 a 9999)")


def day_of(text: str) -> date:
    """The day of an xs:date (surrounding whitespace and the zone dropped).

    Raises DateOutOfRange for a year outside 1-9999, and ValueError for text that is no xs:date
    (which a schema-valid message never holds)."""
    found = _XS_DATE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not an xs:date: {text!r}")
    negative, year, month, day = found.groups()
    if negative or len(year) > 4 or int(year) == 0:
        raise DateOutOfRange(text.strip())
    return date(int(year), int(month), int(day))
