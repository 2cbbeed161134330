"""An order cancelled (before or after hand-off) stops its supplier orders that have
not shipped; the answer goes back as ``supplier.cancellation_answered``."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.supplier_gateway import SupplierCancellationAnswered
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.domain.supplier_order import Status, transition
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent

STOPPABLE = {Status.PENDING, Status.PLACED, Status.ACCEPTED}


async def cancel_for_order(
    session: AsyncSession, outbox: Outbox, order_id: uuid.UUID, reason: str, cause: str
) -> None:
    rows = list(
        await session.scalars(
            sa.select(SupplierOrder).where(SupplierOrder.order_id == order_id).with_for_update()
        )
    )
    cancelled, shipped = [], []
    for row in rows:
        status = Status(row.status)
        if status == Status.SHIPPED:
            shipped.append(row.id)
        elif status in STOPPABLE:
            row.status = transition(status, Status.CANCELLED).value
            session.add(
                SupplierOrderEvent(
                    supplier_order_id=row.id,
                    at=utcnow(),
                    kind="status_changed",
                    from_status=status.value,
                    to_status=row.status,
                    details={"reason": reason},
                    cause=cause,
                )
            )
            cancelled.append(row.id)
    if not cancelled and not shipped:
        return  # nothing placed, or nothing left to stop: no answer to give
    answer = SupplierCancellationAnswered(
        order_id=order_id, cancelled=cancelled, already_shipped=shipped, answered_at=utcnow()
    )
    await outbox.add(session, [answer.envelope(correlation_id=str(order_id), causation_id=cause)])
