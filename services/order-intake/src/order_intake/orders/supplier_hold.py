"""A supplier rejected lines and no backup supplier is left (``supplier.order_rejected``):
the order goes on hold with a machine-readable reason, so an operator offers the buyer a
longer wait, a substitute, or cancels (DOMAIN step 5).

The hold (code ``supplier_rejected``) is one only an operator clears: a storefront
update keeps it. Releasing it (``POST /v1/orders/{id}/release``, after mapping a
substitute SKU if wanted) confirms the order again, which publishes ``order.confirmed``
again for supplier-gateway to route; cancelling goes the usual way."""

from __future__ import annotations

from typing import Any

from dropship_common.contracts.supplier_gateway import SupplierOrderRejected
from dropship_common.db import utcnow
from order_intake.domain.lifecycle import OrderStatus, ReasonCode, transition
from order_intake.orders.unit import Cause, OrderUnit


def rejection_hold(event: SupplierOrderRejected) -> dict[str, Any]:
    """The hold reason, in the shape of the other holds (``code``/``field``/``message``/
    ``details``)."""
    restock = event.restock_date.isoformat() if event.restock_date else None
    message = f"the supplier rejected the order: {event.reason}"
    if restock:
        message += f" (restock expected {restock})"
    return {
        "code": ReasonCode.SUPPLIER_REJECTED,
        "field": None,
        "message": message,
        "details": {
            "reason": event.reason,
            "note": event.note,
            "restock_date": restock,
            "supplier_id": str(event.supplier_id),
            "supplier_order_id": str(event.supplier_order_id),
            "line_ids": [str(i) for i in event.line_ids],
            "options": ["wait_for_restock", "substitute", "cancel"],
        },
    }


async def hold_for_rejection(unit: OrderUnit, event: SupplierOrderRejected, cause: Cause) -> None:
    """Timeline entry always; the hold when the order is confirmed (or already held).
    A redelivery of the same rejection changes nothing (one reason per supplier order)."""
    order = await unit.repo.get(event.order_id, for_update=True)
    if order is None:
        return
    hold = rejection_hold(event)
    now = utcnow()
    unit.record(
        order, "supplier_rejected", cause, reason=event.reason, details=hold["details"], at=now
    )
    key = hold["details"]["supplier_order_id"]
    if any(
        r.get("code") == hold["code"] and (r.get("details") or {}).get("supplier_order_id") == key
        for r in order.hold_reasons
    ):
        return
    current = OrderStatus(order.status)
    if current is OrderStatus.ON_HOLD:
        order.hold_reasons = [*order.hold_reasons, hold]
        unit.record(
            order, "hold_reasons_changed", cause, details={"reasons": order.hold_reasons}, at=now
        )
        return
    if current is not OrderStatus.CONFIRMED:
        # partially shipped, cancelled, ...: the timeline entry is what the operator sees
        return
    order.status = transition(current, OrderStatus.ON_HOLD, because=ReasonCode.SUPPLIER_REJECTED)
    order.hold_reasons = [hold]
    unit.record(
        order,
        "status_changed",
        cause,
        from_status=current.value,
        to_status=OrderStatus.ON_HOLD.value,
        reason=f"held: {ReasonCode.SUPPLIER_REJECTED} ({event.reason})",
        details={"reasons": [hold]},
        at=now,
    )
