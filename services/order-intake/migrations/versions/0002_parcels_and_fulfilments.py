"""parcels and storefront fulfilments

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dropship_common.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fulfilments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("shop_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column(
            "tracking_numbers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tracking_urls",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column(
            "line_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("completes_order", sa.Boolean(), nullable=False),
        sa.Column("shipped_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column("created_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_fulfilments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_fulfilments_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilments")),
        sa.UniqueConstraint(
            "order_id", "tracking_number", name=op.f("uq_fulfilments_order_id_tracking_number")
        ),
    )
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fulfilments_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(
            "ix_fulfilments_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )

    op.create_table(
        "parcels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("tracking_url", sa.String(length=500), nullable=False),
        sa.Column("supplier_order_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column(
            "line_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("fulfilment_id", sa.Uuid(), nullable=True),
        sa.Column("shipped_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilments.id"],
            name=op.f("fk_parcels_fulfilment_id_fulfilments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_parcels_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
        sa.UniqueConstraint(
            "order_id", "tracking_number", name=op.f("uq_parcels_order_id_tracking_number")
        ),
    )


def downgrade() -> None:
    op.drop_table("parcels")
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.drop_index("ix_fulfilments_due")
        batch_op.drop_index(batch_op.f("ix_fulfilments_shop_id"))
    op.drop_table("fulfilments")
