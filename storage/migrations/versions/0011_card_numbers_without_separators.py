"""keep beneficiary card numbers without separators

The registry now stores a card number without spaces, dots, hyphens and slashes, and every
lookup drops them from what was typed, so "0001 2345 6789 00" finds 00012345678900. Cards
imported before kept their separators; this rewrites them, except where the plain number is
already another row's (two rows for one card: which is right is the operator's call, and the
old row is still found by its exact text).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEPARATORS = str.maketrans("", "", " .-/")

beneficiaries = sa.table(
    "beneficiaries", sa.column("id", sa.BigInteger), sa.column("numero_carteira", sa.String)
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(beneficiaries.c.id, beneficiaries.c.numero_carteira)).all()
    taken = {numero for _, numero in rows}
    for row_id, numero in rows:
        plain = numero.translate(SEPARATORS)
        if plain == numero or not plain or plain in taken:
            continue
        bind.execute(
            beneficiaries.update().where(beneficiaries.c.id == row_id).values(numero_carteira=plain)
        )
        taken.discard(numero)
        taken.add(plain)


def downgrade() -> None:
    """Nothing to undo: a number without separators is what the older code stored when typed so."""
