"""CJ webhook messages: stored first, applied after the commit

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dropship_common.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cj_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("message_type", sa.String(length=40), nullable=True),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("match_by", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("supplier_order_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_cj_messages_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cj_messages")),
        sa.UniqueConstraint(
            "supplier_id", "message_id", name=op.f("uq_cj_messages_supplier_id_message_id")
        ),
    )
    op.create_index(
        "ix_cj_messages_status_next_attempt_at",
        "cj_messages",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_cj_messages_status_next_attempt_at", table_name="cj_messages")
    op.drop_table("cj_messages")
