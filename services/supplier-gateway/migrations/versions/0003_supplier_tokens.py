"""supplier API tokens kept across restarts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 18:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supplier_tokens",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("access_token", sa.String(length=200), nullable=True),
        sa.Column("access_expires", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_token", sa.String(length=200), nullable=True),
        sa.Column("refresh_expires", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("open_id", sa.String(length=40), nullable=True),
        sa.Column("issued_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("updated_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_tokens_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_supplier_tokens")),
    )


def downgrade() -> None:
    op.drop_table("supplier_tokens")
