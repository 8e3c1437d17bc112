"""provider require_signature, message signature outcome

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 15:25:56.434735
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("signature_detail", sa.Text(), nullable=True))

    with op.batch_alter_table("providers", schema=None) as batch_op:
        # sa.false(), not the text '0' autogenerate writes: PostgreSQL refuses an integer
        # default on a boolean column.
        batch_op.add_column(
            sa.Column("require_signature", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("require_signature")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("signature_detail")
        batch_op.drop_column("signature_status")
