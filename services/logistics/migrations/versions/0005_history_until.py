"""return parcels: the reused number's earlier journey

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:46:21.770985
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
    op.add_column(
        "parcels",
        sa.Column("history_until", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("parcels", "history_until")
