"""storefront credits: payment links (a dearer exchange's difference); a credit tried again
in a new round after it failed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 02:03:28.190722
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _due_index(statuses: str) -> None:
    op.drop_index("ix_storefront_credits_due", table_name="storefront_credits")
    op.create_index(
        "ix_storefront_credits_due",
        "storefront_credits",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text(f"status IN ({statuses})"),
        sqlite_where=sa.text(f"status IN ({statuses})"),
    )


def upgrade() -> None:
    op.add_column("storefront_credits", sa.Column("payment_url", sa.Text(), nullable=True))
    op.add_column(
        "storefront_credits",
        sa.Column("round", sa.Integer(), server_default="0", nullable=False),
    )
    # an open payment link is looked at again: the worker's claim reads it too
    _due_index("'pending', 'sending', 'open'")


def downgrade() -> None:
    _due_index("'pending', 'sending'")
    op.drop_column("storefront_credits", "round")
    op.drop_column("storefront_credits", "payment_url")
