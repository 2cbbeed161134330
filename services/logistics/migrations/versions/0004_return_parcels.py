"""return parcels

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 00:17:28.968577
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.add_column("parcels", sa.Column("case_id", sa.Uuid(), nullable=True))
    op.add_column(
        "parcels",
        sa.Column("return_parcel", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:

    op.drop_column("parcels", "return_parcel")
    op.drop_column("parcels", "case_id")
