"""pending webhook deliveries indexed in arrival order

The processor claims the oldest pending deliveries (``ORDER BY received_at LIMIT n FOR
UPDATE SKIP LOCKED``). Indexed by ``next_attempt_at``, every claim read and sorted all
pending rows (2,000 after a burst, for each batch of 100); indexed by ``received_at``,
it reads the batch in index order and stops. On PostgreSQL the new index is built
concurrently (webhooks keep being written meanwhile), then takes the old one's name.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


NAME = "ix_webhook_deliveries_pending"


def _index_on(column: str) -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}_new")
            op.create_index(
                f"{NAME}_new",
                "webhook_deliveries",
                [column],
                unique=False,
                postgresql_where=PENDING,
                postgresql_concurrently=True,
            )
            op.drop_index(NAME, table_name="webhook_deliveries", postgresql_concurrently=True)
            op.execute(f"ALTER INDEX {NAME}_new RENAME TO {NAME}")
        return
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(NAME)
        batch_op.create_index(
            NAME,
            [column],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )


def upgrade() -> None:
    _index_on("received_at")


def downgrade() -> None:
    _index_on("next_attempt_at")
