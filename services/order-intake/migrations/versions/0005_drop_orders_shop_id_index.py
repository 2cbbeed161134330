"""orders: drop the index on shop_id alone

The unique index on (shop_id, external_id) serves every query by shop. The index on
shop_id alone only cost a write per order, and with a young table's statistics (a
shop's first burst) PostgreSQL chose it for the batch lookup by external id, reading
every order of the shop for each id (61 ms per batch of 100 at 2,000 orders instead
of under 1 ms). On PostgreSQL it is dropped concurrently: webhooks keep being written.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_orders_shop_id"


def _postgresql() -> bool:
    return bool(op.get_context().dialect.name == "postgresql")


def upgrade() -> None:
    if _postgresql():
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name="orders", postgresql_concurrently=True)
        return
    op.drop_index(NAME, table_name="orders")


def downgrade() -> None:
    if _postgresql():
        with op.get_context().autocommit_block():
            op.create_index(NAME, "orders", ["shop_id"], postgresql_concurrently=True)
        return
    op.create_index(NAME, "orders", ["shop_id"])
