"""rate slots: an account's call rate shared by every process calling it

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_slots",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("next_free", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_slots")),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
