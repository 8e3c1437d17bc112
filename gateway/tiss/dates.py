"""Reading xs:date values (st_data) of schema-valid messages.

xs:date allows what Python's date cannot hold or `date.fromisoformat` does not read: a time zone
after the day (2026-11-03-03:00, 2026-11-03Z), years of more than four digits (12026-01-01) and
negative years (-2026-01-01). The zone says nothing about which day it is: the day is what is
kept. A year outside 1-9999 is no day anyone can have meant; the caller refuses it (1323).
"""

import re
from datetime import date, datetime, timedelta, timezone

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


# Fernando de Noronha (UTC-2) is Brazil's most advanced zone: a sender in Brazil whose clock is
# right never writes a later day than it does. One day more allows for a clock a little fast.
_MOST_ADVANCED = timezone(timedelta(hours=-2))
# TISS began in 2007; a day before 2000 is a clock reset (1970-01-01, 0001-01-01), not a lot.
EARLIEST_REGISTRATION = date(2000, 1, 1)


def registration_problem(text: str, now: datetime) -> str | None:
    """Why a cabecalho's dataRegistroTransacao cannot be the day its message was registered
    (`now`: the gateway's clock, aware), in Portuguese; None when it can be."""
    try:
        day = day_of(text)
    except DateOutOfRange:
        return f"dataRegistroTransacao {text.strip()} fora do intervalo aceito"
    latest = now.astimezone(_MOST_ADVANCED).date() + timedelta(days=1)
    if day > latest:
        return (
            f"dataRegistroTransacao {day.isoformat()} é posterior a hoje: confira o relógio do "
            "sistema que enviou"
        )
    if day < EARLIEST_REGISTRATION:
        return (
            f"dataRegistroTransacao {day.isoformat()} é anterior a "
            f"{EARLIEST_REGISTRATION.isoformat()}: confira o relógio do sistema que enviou"
        )
    return None
