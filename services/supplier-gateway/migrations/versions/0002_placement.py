"""placement through adapters: attempts, next attempt, the supplier's own order id;
supplier e-mails

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supplier_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplier_ref", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("place_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "next_attempt_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("needs_lookup", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_supplier_orders_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_supplier_orders_supplier_id_supplier_ref",
            ["supplier_id", "supplier_ref"],
            unique=False,
        )
    # supplier orders left pending before placement existed go out now
    op.execute(
        "UPDATE supplier_orders SET next_attempt_at = created_at "
        "WHERE status = 'pending' AND next_attempt_at IS NULL"
    )

    op.create_table(
        "supplier_emails",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("supplier_order_id", sa.Uuid(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_order_id"],
            ["supplier_orders.id"],
            name=op.f("fk_supplier_emails_supplier_order_id_supplier_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_emails")),
        sa.UniqueConstraint("supplier_order_id", name=op.f("uq_supplier_emails_supplier_order_id")),
    )
    with op.batch_alter_table("supplier_emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supplier_emails_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("supplier_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_emails_status_next_attempt_at")
    op.drop_table("supplier_emails")
    with op.batch_alter_table("supplier_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_orders_supplier_id_supplier_ref")
        batch_op.drop_index("ix_supplier_orders_status_next_attempt_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("needs_lookup")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("place_attempts")
        batch_op.drop_column("supplier_ref")
