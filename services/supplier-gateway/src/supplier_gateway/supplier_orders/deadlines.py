"""The deadline watch: open supplier orders become ``at_risk`` on their ship-by day and
``overdue`` after it; overdue publishes ``supplier.order_overdue`` (once)."""

from __future__ import annotations

import datetime as dt

import structlog

from dropship_common.contracts.supplier_gateway import SupplierOrderOverdue
from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import every
from supplier_gateway.domain.deadlines import Deadline, deadline
from supplier_gateway.models import SupplierOrderEvent
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository

log = structlog.get_logger(__name__)


async def check_deadlines(
    runtime: ServiceRuntime, now: dt.datetime | None = None
) -> dict[str, int]:
    now = now or utcnow()
    counts = {Deadline.AT_RISK.value: 0, Deadline.OVERDUE.value: 0}
    async with runtime.db.transaction() as session:
        rows = await SupplierOrderRepository(session).claim_near_ship_by(now)
        events = []
        for row, country in rows:
            assert row.ship_by is not None
            state = deadline(row.ship_by, now, country)
            if state == Deadline(row.deadline) or state == Deadline.ON_TIME:
                continue
            session.add(
                SupplierOrderEvent(
                    supplier_order_id=row.id,
                    at=now,
                    kind=state.value,
                    details={"ship_by": row.ship_by.isoformat()},
                    cause="system:deadline-watch",
                )
            )
            row.deadline = state.value
            counts[state.value] += 1
            if state == Deadline.OVERDUE:
                overdue = SupplierOrderOverdue(
                    order_id=row.order_id,
                    supplier_order_id=row.id,
                    supplier_id=row.supplier_id,
                    ship_by=row.ship_by,
                    detected_at=now,
                )
                events.append(overdue.envelope(correlation_id=str(row.order_id)))
        await runtime.outbox.add(session, events)
    return counts


async def deadline_worker(runtime: ServiceRuntime, interval: float = 60.0) -> None:
    await every("supplier_deadlines", interval, lambda: check_deadlines(runtime))
