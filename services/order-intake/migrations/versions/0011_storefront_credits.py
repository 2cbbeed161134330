"""storefront credits

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 23:40:22.727789
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "storefront_credits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("shop_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("ends_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column("gateway_refunded", sa.Boolean(), nullable=False),
        sa.Column("created_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_storefront_credits_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_storefront_credits_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storefront_credits")),
        sa.UniqueConstraint("case_id", "kind", name=op.f("uq_storefront_credits_case_id_kind")),
    )
    op.create_index(
        "ix_storefront_credits_due",
        "storefront_credits",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
        sqlite_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        op.f("ix_storefront_credits_order_id"), "storefront_credits", ["order_id"], unique=False
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_storefront_credits_order_id"), table_name="storefront_credits")
    op.drop_index(
        "ix_storefront_credits_due",
        table_name="storefront_credits",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
        sqlite_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.drop_table("storefront_credits")
