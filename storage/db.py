"""Engine and session factory for SQLite (default) and PostgreSQL."""

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql
from sqlalchemy import Connection, Engine, Table, create_engine, event, insert
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

from storage.ids import SequenceIds
from storage.models import Message


def make_engine(url: str) -> Engine:
    # hide_parameters: a failed statement's exception text never quotes its values (a
    # beneficiary's name, a password hash), so no log handler, ours or the operator's, sees them.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _sqlite_for_update)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10, hide_parameters=True)
    event.listen(engine.pool, "checkin", _checked_in)
    event.listen(engine.pool, "checkout", _ping_if_idle(engine.dialect))
    return engine


# A pooled connection left idle this long is pinged before it is used again: PostgreSQL may have
# been restarted, or a firewall may have dropped the connection, in the meantime. A connection in
# steady use is not pinged: SQLAlchemy's pool_pre_ping pings on every checkout, one round trip in
# nine of a status query. If the server goes away while connections are busy, the first
# statement on each fails (the message is answered ErroInesperadoServidor, archived through a
# fresh connection) and SQLAlchemy then discards the whole pool.
PING_AFTER_IDLE_SECONDS = 1.0


def _checked_in(_dbapi_conn, record) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dialect):
    def checkout(dbapi_conn, record, _proxy) -> None:
        last_used = record.info.get("checked_in_at")
        if last_used is not None and time.monotonic() - last_used < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool replaces this connection and every other one opened before now.
            raise InvalidatePoolError(f"ping failed: {exc}") from exc

    return checkout


def _sqlite_for_update(conn, cursor, _statement, _parameters, context, _executemany) -> None:
    """SELECT ... FOR UPDATE on SQLite, which has no row locks and which SQLAlchemy compiles to a
    plain SELECT: the database's write lock is taken (BEGIN IMMEDIATE) before the row is read,
    so two requests cannot both read a state and both change it (a request sent for analysis
    twice, two analysts deciding at once). pysqlite begins a transaction only at the first
    write; one already begun holds the write lock, so nothing is needed then."""
    statement = getattr(context.compiled, "statement", None) if context is not None else None
    if getattr(statement, "_for_update_arg", None) is None:
        return
    dbapi_conn = conn.connection.dbapi_connection
    if not dbapi_conn.in_transaction:
        cursor.execute("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers go on while a message is being stored; foreign keys are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def core(session: Session) -> Connection:
    """The connection of `session`'s transaction, for Core statements built once (plain INSERTs,
    UPDATEs and column SELECTs on the hot paths). Same transaction; what it skips is
    Session.execute's ORM work, about a third of such a statement's CPU (90 of ~250 us on
    PostgreSQL). Also skipped: the autoflush, so use it only for rows no pending ORM object of
    the session touches."""
    return session.connection()


def insert_rows(connection: Connection, table: Table, rows: list[dict]) -> None:
    """Many new rows of `table` (dicts with the same keys), in the connection's transaction.

    PostgreSQL: COPY, one statement whatever the number of rows. An executemany runs the INSERT
    once per row in the server; with COPY a 100-guide lot cost PostgreSQL 40-50% less CPU and the
    gateway 7-27% less (SQLAlchemy's per-row parameter work is gone), alternating the two lot by
    lot. The values travel in COPY's data stream, escaped by psycopg, never in the statement's
    text; the statement names only the table and its columns. Elsewhere (SQLite): the driver's
    executemany (below)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        _driver_executemany(connection, table, rows)
        return
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.connection.dbapi_connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


def _driver_executemany(connection: Connection, table: Table, rows: list[dict]) -> None:
    """The INSERT compiled once per table and columns, each row a tuple converted by the
    columns' own bind processors (Decimal to what the driver stores), handed to the driver's
    executemany. `connection.execute(insert(table), rows)` does the same with SQLAlchemy's
    per-row parameter work on top, which cost more than the driver itself for a 100-guide lot.
    exec_driver_sql keeps the statement in the connection's transaction and its events."""
    statement, converters = _compiled_insert(connection.dialect, table, tuple(rows[0]))
    connection.exec_driver_sql(
        statement,
        [
            tuple([convert(row[key]) if convert else row[key] for key, convert in converters])
            for row in rows
        ],
    )


@functools.lru_cache(maxsize=64)  # bounded: each engine brings its own dialect (tests make many)
def _compiled_insert(dialect, table: Table, columns: tuple[str, ...]):
    """INSERT text, and (column, bind processor or None) in the order of its parameters. The
    processors pass None through, as SQLAlchemy's own do."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    converters = tuple(
        (key, table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
        for key in compiled.positiontup
    )
    return compiled.string, converters


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Archive records (messages) are written once, with their answer, under an id taken
        # first (storage/ids.py). PostgreSQL only: SQLite has no sequence to take it from, so
        # there the record is inserted for its id and the answer stored by an UPDATE.
        self.message_ids = (
            SequenceIds(Message.__table__) if self.engine.dialect.name == "postgresql" else None
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed as a whole, or rolled back as a whole."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def autocommit(self) -> Iterator[Session]:
        """Every statement commits by itself: no BEGIN and COMMIT round trips. For work that
        writes at most one row at a time, so that nothing can be left half-done (a status query
        reads, then writes its archive record). Each statement sees what is committed when it
        runs, as in a READ COMMITTED transaction."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            with Session(bind=connection, expire_on_commit=False) as session:
                yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def after_fork(self) -> None:
        """In a process forked from the one that opened this database (gunicorn's workers): the
        parent's pooled connections and held record id are the parent's, never shared."""
        self.engine.dispose(close=False)
        if self.message_ids is not None:
            self.message_ids.forget()
