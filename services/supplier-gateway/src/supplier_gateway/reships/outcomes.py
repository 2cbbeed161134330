"""A reship's outcome, published once per case: ``supplier.reship_placed`` when its
supplier took it, ``supplier.reship_failed`` when it cannot be placed. A reship never
publishes ``supplier.order_placed`` / ``supplier.order_rejected``: those move the order
itself at order-intake, which a replacement for an order already shipped must not."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.supplier_gateway import SupplierReshipFailed, SupplierReshipPlaced
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent
from supplier_gateway.reships.repository import ReshipRepository

FAILURE_CODES = ("unmapped", "rejected", "unknown_order", "supplier_error")


async def reship_placed(
    session: AsyncSession, outbox: Outbox, row: SupplierOrder, cause: str
) -> None:
    """The reship's supplier took it (``row.case_id`` is set)."""
    assert row.case_id is not None and row.placed_at is not None
    reship = await ReshipRepository(session).locked(row.case_id)
    if reship is None or reship.status != "open":
        return
    reship.status = "placed"
    event = SupplierReshipPlaced(
        case_id=row.case_id,
        order_id=row.order_id,
        supplier_order_id=row.id,
        original_supplier_order_id=row.replaces_id,
        supplier_id=row.supplier_id,
        goods_cost=reship.goods_cost,
        currency=reship.currency,
        placed_at=row.placed_at,
    )
    await outbox.add(
        session, [event.envelope(correlation_id=str(row.order_id), causation_id=cause)]
    )


async def reship_failed(
    session: AsyncSession,
    outbox: Outbox,
    case_id: uuid.UUID,
    code: str,
    message: str,
    cause: str,
    row: SupplierOrder | None = None,
) -> None:
    """It cannot be placed: the case goes back to an agent. Once per case (a reship
    already placed or failed is left as it is)."""
    assert code in FAILURE_CODES
    reship = await ReshipRepository(session).locked(case_id)
    if reship is None or reship.status != "open":
        return
    reship.status, reship.code, reship.message = "failed", code, message[:1000]
    now = utcnow()
    if row is not None:
        session.add(
            SupplierOrderEvent(
                supplier_order_id=row.id,
                at=now,
                kind="reship_failed",
                details={"code": code, "message": message[:500]},
                cause=cause,
            )
        )
    event = SupplierReshipFailed(
        case_id=case_id, order_id=reship.order_id, code=code, message=message, failed_at=now
    )
    await outbox.add(
        session, [event.envelope(correlation_id=str(reship.order_id), causation_id=cause)]
    )
