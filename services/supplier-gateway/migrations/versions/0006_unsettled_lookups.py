"""supplier orders: lookups in a row that settled nothing (needs_attention after a few)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supplier_orders") as batch:
        # a plain literal: an expression default makes SQLite's batch mode copy the table
        batch.add_column(
            sa.Column("unsettled_lookups", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("supplier_orders") as batch:
        batch.drop_column("unsettled_lookups")
