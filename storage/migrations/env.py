"""Alembic environment: run by `tiss-gateway db upgrade` with the configured database URL."""

from collections import Counter

from alembic import context

from storage.db import make_engine
from storage.models import Base
from storage.types import render_migration_type

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    callbacks = []
    if sqlite:
        # A SQLite revision that rebuilds a table turns foreign keys off (0012), and the PRAGMA
        # cannot come back on inside a transaction: the revisions after it in the same run would
        # write unchecked. So each revision is checked, before its commit, for references it
        # left dangling; those there before the run (a row deleted by hand in the sqlite3
        # shell, where foreign keys are off) are not its doing.
        external = connection.in_transaction()
        before = _dangling(connection)
        if not external:
            connection.commit()  # end the autobegun read, so each revision gets its transaction
        callbacks.append(lambda ctx, step, **_: _refuse_new_dangling(ctx.connection, before, step))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        render_item=render_migration_type,
        on_version_apply=callbacks,
    )
    with context.begin_transaction():
        context.run_migrations()


def _dangling(connection) -> Counter:
    """SQLite's dangling references, counted per (table, referenced table): row ids change when
    a revision rebuilds a table, the counts do not."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    return Counter((row[0], row[2]) for row in rows)


def _refuse_new_dangling(connection, before: Counter, step) -> None:
    new = _dangling(connection) - before
    if new:
        names = ", ".join(
            f"{table} -> {parent} ({n})" for (table, parent), n in sorted(new.items())
        )
        raise RuntimeError(f"revision {step.up_revision_id} left dangling references: {names}")


run_migrations_online()
