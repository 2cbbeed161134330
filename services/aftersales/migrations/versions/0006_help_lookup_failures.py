"""buyer page: failed look-ups in the database (every replica counts the same)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 02:26:43.238681
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "help_lookup_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_lookup_failures")),
    )
    op.create_index(
        "ix_help_lookup_failures_bucket_at", "help_lookup_failures", ["bucket", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_help_lookup_failures_bucket_at", table_name="help_lookup_failures")
    op.drop_table("help_lookup_failures")
