"""supplier orders: the placement worker's lease; cancellations the supplier refused

``cancel_refused`` is filled in for refusals recorded before it existed (the last
``supplier_cancel`` entry on the timeline said too_late or not_possible): those orders
are due for the periodic lookup at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:30:00.000000
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import dropship_common.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = ("too_late", "not_possible")


def upgrade() -> None:
    with op.batch_alter_table("supplier_orders") as batch:
        batch.add_column(
            sa.Column("leased_until", dropship_common.db.UTCDateTime(timezone=True), nullable=True)
        )
        # a plain literal: an expression default makes SQLite's batch mode copy the table
        batch.add_column(
            sa.Column("cancel_refused", sa.Boolean(), server_default="0", nullable=False)
        )
    if context.is_offline_mode():
        return  # the backfill reads the timelines: run it online
    _backfill_refused()


def _backfill_refused() -> None:
    orders = sa.table(
        "supplier_orders",
        sa.column("id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("cancel_refused", sa.Boolean()),
        sa.column("next_attempt_at", dropship_common.db.UTCDateTime(timezone=True)),
    )
    events = sa.table(
        "supplier_order_events",
        sa.column("id", sa.Integer()),
        sa.column("supplier_order_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("details", sa.JSON()),
    )
    conn = op.get_bind()
    found = conn.execute(
        sa.select(events.c.supplier_order_id, events.c.details)
        .join(orders, orders.c.id == events.c.supplier_order_id)
        .where(orders.c.status == "cancelled", events.c.kind == "supplier_cancel")
        .order_by(events.c.id)
    )
    last: dict[object, object] = {}
    for order_id, details in found:
        last[order_id] = (details or {}).get("outcome")
    refused = [order_id for order_id, outcome in last.items() if outcome in REFUSED]
    if refused:
        conn.execute(
            orders.update()
            .where(orders.c.id.in_(refused))
            .values(cancel_refused=True, next_attempt_at=dt.datetime.now(dt.UTC))
        )


def downgrade() -> None:
    with op.batch_alter_table("supplier_orders") as batch:
        batch.drop_column("cancel_refused")
        batch.drop_column("leased_until")
