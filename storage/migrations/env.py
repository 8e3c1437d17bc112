"""Alembic environment: run by `tiss-gateway db upgrade` with the configured database URL."""

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
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_migration_type,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
