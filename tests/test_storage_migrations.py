"""The migrations are the only way the schema is made: they must build exactly what the models
declare, on SQLite and on PostgreSQL, and every step must go down and up again."""

import shutil

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from storage.migrate import MIGRATIONS, alembic_config, upgrade
from storage.models import Base
from tests.conftest import fresh_database

# Indexes migration 0009 dropped: a longer index on the same table starts with their column.
DROPPED_IN_0009 = {
    "messages": "ix_messages_provider_id",
    "guide_items": "ix_guide_items_guide_id",
    "payment_lines": "ix_payment_lines_payment_id",
    "schema_files": "ix_schema_files_version",
    "credentialing_cities": "ix_credentialing_cities_request_id",
    "typed_guides": "ix_typed_guides_typed_protocol_id",
}


def differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def index_names(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {ix["name"] for ix in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def test_migrations_build_exactly_what_the_models_declare(migrated, database_url):
    assert differences(database_url) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


def test_redundant_indexes_go_and_come_back_with_their_migration(empty_database):
    upgrade(empty_database)
    for table, index in DROPPED_IN_0009.items():
        assert index not in index_names(empty_database, table)
    # What still serves the lookups they served.
    assert "ix_messages_provider_id_id" in index_names(empty_database, "messages")

    command.downgrade(alembic_config(empty_database), "0008")
    for table, index in DROPPED_IN_0009.items():
        assert index in index_names(empty_database, table)

    upgrade(empty_database)
    assert differences(empty_database) == []


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_every_migration_goes_down_and_up_again_and_base_leaves_no_table(empty_database):
    """A rolling upgrade that has to be undone runs the downgrades (deploy/README.md): each must
    run on the schema its own upgrade left, and together they must take everything away."""
    config = alembic_config(empty_database)
    revisions = _revisions()
    upgrade(empty_database)
    for revision, previous in zip(
        reversed(revisions), [*reversed(revisions[:-1]), "base"], strict=True
    ):
        command.downgrade(config, previous)
        command.upgrade(config, revision)  # and up again from there
        command.downgrade(config, previous)
    assert table_names(empty_database) <= {"alembic_version"}

    upgrade(empty_database)
    assert differences(empty_database) == []


def test_card_numbers_lose_their_separators_unless_the_plain_number_is_taken(empty_database):
    """0011: a registry imported before kept cards as typed; they are rewritten as the lookups
    now read them, except where that would make two rows of one card."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0010")
    cards = ["0001 2345 6789 00", "0002.2345.6789-00", "0003-1", "00031", "12/34", "PLAIN9"]
    engine = create_engine(empty_database)
    try:
        with engine.begin() as conn:
            for number, card in enumerate(cards):
                conn.execute(
                    text(
                        "INSERT INTO beneficiaries (id, numero_carteira, name, plan, status, "
                        "joined_on, updated_at) VALUES (:id, :card, 'Nome', 'Plano', 'ativo', "
                        "'2020-01-01', '2026-01-01 00:00:00')"
                    ),
                    {"id": number + 1, "card": card},
                )
        command.upgrade(config, "0011")
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT numero_carteira FROM beneficiaries ORDER BY id")
            ).scalars()
            assert list(stored) == [
                "00012345678900",
                "00022345678900",
                "0003-1",  # 00031 is another row's: both stay, the old one found as typed
                "00031",
                "1234",
                "PLAIN9",
            ]
    finally:
        engine.dispose()


LATER_REVISION = '''"""After 0012: a reference to an account that does not exist."""

from alembic import op

revision = "9999"
down_revision = "0012"


def upgrade() -> None:
    op.execute(
        "INSERT INTO password_history (account_id, password_hash, created_at)"
        " VALUES (424242, 'x', '2026-12-07 00:00:00')"
    )


def downgrade() -> None:
    pass
'''


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_a_later_revision_in_the_same_sqlite_run_as_0012_is_checked_for_foreign_keys(
    empty_database, tmp_path
):
    """0012 rebuilds `messages` with SQLite's foreign keys off, and they cannot come back on
    inside the run: a revision after it, in the same `db upgrade`, is checked before its commit
    for references it left dangling, and refused. Dangling rows there before are tolerated."""
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_dangling.py").write_text(LATER_REVISION)
    config = alembic_config(empty_database)
    config.set_main_option("script_location", str(scripts))
    command.upgrade(config, "0011")
    engine = create_engine(empty_database)  # foreign keys off: a row deleted by hand
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO access_log (account_id, occurred_at, event)"
                    " VALUES (777, '2026-01-01 00:00:00', 'login')"
                )
            )
        with pytest.raises(RuntimeError, match=r"9999 left dangling references: password_history"):
            command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0012"
            assert conn.scalar(text("SELECT count(*) FROM password_history")) == 0
    finally:
        engine.dispose()
