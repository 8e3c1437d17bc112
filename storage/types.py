"""Column types shared by the gateway's tables."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC. A naive value is taken as UTC already: the convention of every
    stored value and of the back-office API."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class UtcDateTime(TypeDecorator):
    """An instant, written and read back as an aware UTC datetime on every database.

    SQLite has no time zones: SQLAlchemy writes a datetime's wall-clock digits and reads them back
    naive, so an aware value in Brazil's zone would be stored three hours off and every reader
    would have to remember that values come back naive. PostgreSQL's timestamptz keeps the
    instant but gives it back in the session's zone. Converting to UTC on the way in and on the
    way out makes both behave the same."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def render_migration_type(type_: str, obj, autogen_context) -> str | bool:
    """How `alembic revision --autogenerate` writes a column type: migrations keep to plain
    SQLAlchemy types, so that they never depend on the application's code as it is later."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False
