"""SQL of the storefront's aftersales signals: what was already recorded on an order's
timeline (the record that makes each return and refund one event)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dropship_common.repository import Repository
from order_intake.models import OrderEvent


class SignalRepository(Repository[OrderEvent]):
    model = OrderEvent

    async def recorded(self, order_id: uuid.UUID, kind: str, key: str) -> set[str]:
        """The ``details[key]`` of the order's timeline entries of ``kind`` (a handful
        per order: read whole, compared here, the same in SQLite and PostgreSQL)."""
        details = await self.session.scalars(
            sa.select(OrderEvent.details).where(
                OrderEvent.order_id == order_id, OrderEvent.kind == kind
            )
        )
        return {str(d[key]) for d in details if d and d.get(key) is not None}
