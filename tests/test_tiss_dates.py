"""gateway.tiss.dates: the day of every xs:date form a schema-valid message can hold."""

from datetime import date

import pytest

from gateway.tiss.dates import DateOutOfRange, day_of


@pytest.mark.parametrize(
    "text, day",
    [
        ("2026-11-03", date(2026, 11, 3)),
        ("2026-11-03Z", date(2026, 11, 3)),
        ("2026-11-03-03:00", date(2026, 11, 3)),
        ("2026-11-03+14:00", date(2026, 11, 3)),
        (" 2026-11-03\n", date(2026, 11, 3)),
        ("0001-01-01", date(1, 1, 1)),
        ("9999-12-31-12:00", date(9999, 12, 31)),
        ("2024-02-29", date(2024, 2, 29)),
    ],
)
def test_the_day_whatever_the_zone(text, day):
    assert day_of(text) == day


@pytest.mark.parametrize("text", ["12026-01-01", "-2026-01-01", "-0001-12-31Z", "0000-01-01"])
def test_a_year_outside_0001_to_9999_is_out_of_range(text):
    with pytest.raises(DateOutOfRange, match="fora do intervalo aceito"):
        day_of(text)


@pytest.mark.parametrize("text", ["03/11/2026", "2026-11-3", "2026-11-03T10:00:00", ""])
def test_anything_else_is_no_date(text):
    with pytest.raises(ValueError) as raised:
        day_of(text)
    assert not isinstance(raised.value, DateOutOfRange)
