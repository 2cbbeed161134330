"""supplier orders: the placement worker's lease; cancellations the supplier refused

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supplier_orders") as batch:
        batch.add_column(
            sa.Column("leased_until", dropship_common.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("cancel_refused", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("supplier_orders") as batch:
        batch.drop_column("cancel_refused")
        batch.drop_column("leased_until")
