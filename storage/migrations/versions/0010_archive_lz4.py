"""compress the archived request and answer bytes with lz4 (PostgreSQL)

Every message's raw request and answer are stored in `messages`, compressed by PostgreSQL's
TOAST when the row passes ~2 kB. The default method, pglz, cost PostgreSQL 2.5-3.2 ms of CPU
to store the 262 kB request of a 100-guide lot; lz4 took 0.4-0.5 ms (reference VM, the
benchmark's lots, the two alternated), and those lots took less space, not more (648 against
1264 kB for 150 requests). Values already stored keep pglz, which PostgreSQL still reads:
nothing is rewritten.

PostgreSQL 14 or later built with lz4, as Debian's, Ubuntu's and the official container images
are; where lz4 is missing the columns keep pglz and the migration says so. SQLite: nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 22:30:00.000000
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("raw_request", "raw_response")


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    alter = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in COLUMNS)
    # A catalog change, but under an ACCESS EXCLUSIVE lock: give up rather than queue behind a
    # long back-office read while every new message waits behind this statement.
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute(
        f"""
        DO $$
        BEGIN
            ALTER TABLE messages {alter};
        EXCEPTION WHEN feature_not_supported THEN
            RAISE WARNING 'PostgreSQL built without lz4: messages keeps pglz compression';
        END
        $$
        """
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
