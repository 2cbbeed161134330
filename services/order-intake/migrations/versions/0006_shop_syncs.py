"""shop_syncs: storefront reconciliation cursor and webhook subscription health

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dropship_common.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_syncs",
        sa.Column("shop_id", sa.Uuid(), nullable=False),
        sa.Column(
            "orders_synced_until", dropship_common.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("next_sync_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sync_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column("orders_recovered", sa.Integer(), nullable=False),
        sa.Column("webhooks_status", sa.String(length=20), nullable=False),
        sa.Column(
            "webhooks_problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "webhooks_checked_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "next_webhook_check_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_shop_syncs_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_shop_syncs")),
    )
    op.create_index("ix_shop_syncs_due", "shop_syncs", ["next_sync_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shop_syncs_due", table_name="shop_syncs")
    op.drop_table("shop_syncs")
