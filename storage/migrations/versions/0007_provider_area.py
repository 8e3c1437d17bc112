"""provider area: typed guides, uploaded file names

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 16:07:15.315994
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "typed_protocols",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "provider_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("guide_type", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("numero_lote", sa.String(length=12), nullable=True),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("protocol_numero", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_typed_protocols_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_typed_protocols_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_typed_protocols_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_typed_protocols")),
    )
    with op.batch_alter_table("typed_protocols", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_typed_protocols_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "typed_guides",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "typed_protocol_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("numero_guia_prestador", sa.String(length=20), nullable=False),
        sa.Column("numero_carteira", sa.String(length=20), nullable=False),
        sa.Column("nome_beneficiario", sa.String(length=200), nullable=True),
        sa.Column("data_atendimento", sa.Date(), nullable=False),
        sa.Column("valor", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_typed_guides_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["typed_protocol_id"],
            ["typed_protocols.id"],
            name=op.f("fk_typed_guides_typed_protocol_id_typed_protocols"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_typed_guides")),
        sa.UniqueConstraint(
            "typed_protocol_id", "numero_guia_prestador", name="uq_typed_guides_numero"
        ),
    )
    with op.batch_alter_table("typed_guides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_typed_guides_typed_protocol_id"), ["typed_protocol_id"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_name", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_messages_provider_id_id", ["provider_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_provider_id_id")
        batch_op.drop_column("file_name")

    with op.batch_alter_table("typed_guides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_typed_guides_typed_protocol_id"))

    op.drop_table("typed_guides")
    with op.batch_alter_table("typed_protocols", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_typed_protocols_provider_id"))

    op.drop_table("typed_protocols")
