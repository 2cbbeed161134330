"""reships: the case's approval each carries out (a later one after a failure tries again)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 02:19:27.812449
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reships", sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("reships", "attempt")
