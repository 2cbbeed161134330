"""One way to move a supplier order: the guarded transition and its timeline entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from supplier_gateway.domain.supplier_order import Status, transition
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent


def move(
    session: AsyncSession,
    row: SupplierOrder,
    target: Status,
    cause: str,
    details: dict[str, Any] | None = None,
) -> Status:
    """Raises IllegalTransition; returns the status it left."""
    previous = Status(row.status)
    row.status = transition(previous, target).value
    session.add(
        SupplierOrderEvent(
            supplier_order_id=row.id,
            at=utcnow(),
            kind="status_changed",
            from_status=previous.value,
            to_status=target.value,
            details=details,
            cause=cause,
        )
    )
    return previous
