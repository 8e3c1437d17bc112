"""drop the single-column indexes that a composite index or unique constraint already serves

Each of these columns leads a longer index (or unique constraint) on the same table, which
answers every lookup the single-column one did. The two on the write path cost an index update
per row: messages.provider_id (every message; ix_messages_provider_id_id) and
guide_items.guide_id (every item of every lot; uq_guide_items_seq).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 21:30:00.000000
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (table, column) of each index ix_<table>_<column> dropped, with what still serves it.
REDUNDANT = (
    ("messages", "provider_id"),  # ix_messages_provider_id_id (provider_id, id)
    ("guide_items", "guide_id"),  # uq_guide_items_seq (guide_id, sequencial)
    ("payment_lines", "payment_id"),  # uq_payment_lines_guide (payment_id, guide_id)
    ("schema_files", "version"),  # uq_schema_files_version_file (version, file_name)
    ("credentialing_cities", "request_id"),  # uq_credentialing_cities_city (request_id, ...)
    ("typed_guides", "typed_protocol_id"),  # uq_typed_guides_numero (typed_protocol_id, ...)
)


def upgrade() -> None:
    # On PostgreSQL CONCURRENTLY, outside the migration's transaction: a plain DROP INDEX locks
    # the whole table, and messages is the largest and busiest one (deploy/README.md, upgrades).
    # The old version does not need these indexes, so this runs while it serves. IF EXISTS: a
    # run stopped after the drops but before the version was recorded can simply run again.
    with op.get_context().autocommit_block():
        for table, column in REDUNDANT:
            op.drop_index(
                f"ix_{table}_{column}",
                table_name=table,
                postgresql_concurrently=True,
                if_exists=True,
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, column in REDUNDANT:
            op.create_index(
                f"ix_{table}_{column}",
                table,
                [column],
                unique=False,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
