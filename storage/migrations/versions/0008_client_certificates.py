"""client certificates registered per provider; how each message authenticated

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "provider_certificates",
        sa.Column("id", BigId, nullable=False),
        sa.Column("provider_id", BigId, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_certificates_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_certificates")),
        sa.UniqueConstraint("sha256", name=op.f("uq_provider_certificates_sha256")),
    )
    with op.batch_alter_table("provider_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_certificates_provider_id"), ["provider_id"], unique=False
        )

    # Nullable, no default: the version before this one keeps writing messages during a rolling
    # upgrade (deploy/README.md).
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_method", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("client_cert_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("client_cert_sha256")
        batch_op.drop_column("auth_method")

    with op.batch_alter_table("provider_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_certificates_provider_id"))

    op.drop_table("provider_certificates")
