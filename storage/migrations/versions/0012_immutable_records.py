"""the database refuses to rewrite the access log and an archived request; no digest of a request
never read

The access log is immutable (Segurança e Privacidade, items 66 and 70) and so is what a message
archived of its request: the ORM refused such updates, but any UPDATE through Core or SQL went
through. BEFORE UPDATE triggers now refuse, on PostgreSQL and SQLite, every UPDATE of an
`access_log` row and every change to the request columns of `messages` (request_id,
received_at, raw_request, request_size, request_sha256). The answer columns stay writable: on
SQLite a record is inserted before its answer exists, which then goes from NULL to a value.
Deleting stays possible: the retention job removes access-log entries older than 90 days.

`messages.request_sha256` may now be NULL: a request refused before it was read (above
TISS_MAX_MESSAGE_BYTES) keeps the size it announced and no digest, where the SHA-256 of no bytes
was stored. On SQLite making the column nullable rebuilds the table (copy, drop, rename), which
enforced foreign keys forbid while typed_protocols references messages: they are switched off for
the rebuild and every reference is checked before it commits.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

REQUEST_COLUMNS = ("request_id", "received_at", "raw_request", "request_size", "request_sha256")
# What the code before this revision stored for a request it never read: SHA-256 of no bytes.
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

ACCESS_LOG_MESSAGE = "access_log is append-only (Seguranca e Privacidade 66/70)"
MESSAGES_MESSAGE = "an archived request cannot be changed (messages: request columns)"

_CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in REQUEST_COLUMNS)
_CHANGED_SQLITE = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in REQUEST_COLUMNS)
_COLUMN_LIST = ", ".join(REQUEST_COLUMNS)

POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION access_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{ACCESS_LOG_MESSAGE}' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER access_log_immutable BEFORE UPDATE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_update()
    """,
    f"""
    CREATE FUNCTION messages_refuse_request_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGES_MESSAGE}' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    # Fired only when a request column is set to another value: rewriting a record's answer
    # (answers._rewrite_answer) never lists them.
    f"""
    CREATE TRIGGER messages_request_immutable BEFORE UPDATE OF {_COLUMN_LIST} ON messages
    FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION messages_refuse_request_update()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER messages_request_immutable ON messages",
    "DROP FUNCTION messages_refuse_request_update()",
    "DROP TRIGGER access_log_immutable ON access_log",
    "DROP FUNCTION access_log_refuse_update()",
]

SQLITE_UP = [
    f"""
    CREATE TRIGGER access_log_immutable BEFORE UPDATE ON access_log
    BEGIN SELECT RAISE(ABORT, '{ACCESS_LOG_MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER messages_request_immutable BEFORE UPDATE OF {_COLUMN_LIST} ON messages
    FOR EACH ROW WHEN {_CHANGED_SQLITE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGES_MESSAGE}'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER messages_request_immutable",
    "DROP TRIGGER access_log_immutable",
]


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _foreign_keys_off_for_rebuild() -> None:
    """SQLite only, and first in the migration: a PRAGMA is ignored inside a transaction, and
    SQLite's migrations each run in one that their first write begins."""
    if _is_sqlite():
        op.execute("PRAGMA foreign_keys=OFF")


def _request_sha256_nullable(nullable: bool) -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column(
            "request_sha256", existing_type=sa.String(length=64), nullable=nullable
        )
    # On SQLite, env.py checks before the commit that the rebuild left no reference dangling.


def upgrade() -> None:
    _foreign_keys_off_for_rebuild()
    if not _is_sqlite():
        # A catalog change under an ACCESS EXCLUSIVE lock: give up rather than queue behind a
        # long read while every new message waits behind this statement.
        op.execute("SET LOCAL lock_timeout = '10s'")
    _request_sha256_nullable(True)
    # What a downgrade had to write for requests refused unread (the SHA-256 of no bytes for a
    # request that announced some) goes back to no digest, before the triggers forbid it.
    messages = sa.table(
        "messages", sa.column("request_sha256", sa.String), sa.column("request_size", sa.Integer)
    )
    op.execute(
        messages.update()
        .where(messages.c.request_sha256 == EMPTY_SHA256, messages.c.request_size > 0)
        .values(request_sha256=None)
    )
    # After the rebuild: SQLite's triggers belong to the table they were created on.
    for statement in SQLITE_UP if _is_sqlite() else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    _foreign_keys_off_for_rebuild()
    for statement in SQLITE_DOWN if _is_sqlite() else POSTGRESQL_DOWN:
        op.execute(statement)
    messages = sa.table("messages", sa.column("request_sha256", sa.String))
    op.execute(
        messages.update()
        .where(messages.c.request_sha256.is_(None))
        .values(request_sha256=EMPTY_SHA256)
    )
    _request_sha256_nullable(False)
