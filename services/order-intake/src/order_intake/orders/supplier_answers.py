"""What the suppliers' events do to an order (through supplier-gateway): handed off,
rejected or late (on the timeline), cancellation and address-change answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from dropship_common.db import utcnow
from order_intake.domain.lifecycle import OrderStatus
from order_intake.orders.transitions import OrderTransitions, same_place
from order_intake.orders.unit import Cause, OrderUnit


class SupplierAnswers:
    def __init__(self, unit: OrderUnit) -> None:
        self.unit = unit
        self.transitions = OrderTransitions(unit)

    async def note_supplier_event(
        self, order_id: uuid.UUID, kind: str, reason: str, details: dict[str, Any], cause: Cause
    ) -> None:
        """A supplier rejected or is late: on the timeline for the operator, who offers
        the buyer a longer wait, a substitute, or cancels."""
        order = await self.unit.repo.get(order_id, for_update=True)
        if order is not None:
            self.unit.record(order, kind, cause, reason=reason, details=details)

    async def apply_cancellation_answer(
        self, order_id: uuid.UUID, cancelled: list[str], shipped: list[str], cause: Cause
    ) -> None:
        """Every supplier stopped it: the requested cancellation is done. Some parcel
        already left: it stays, recorded (a return, for aftersales)."""
        order, shop = await self.unit.load(order_id)
        details = {"cancelled": cancelled, "already_shipped": shipped}
        if shipped:
            self.unit.record(
                order,
                "cancellation_refused",
                cause,
                reason="already shipped by a supplier",
                details=details,
            )
            return
        if (
            order.status in (OrderStatus.CONFIRMED, OrderStatus.ON_HOLD)
            and order.cancellation_requested_at is not None
        ):
            await self.transitions.move(
                shop,
                order,
                OrderStatus.CANCELLED,
                cause,
                utcnow(),
                why="cancelled at the supplier(s)",
            )
        else:
            self.unit.record(order, "supplier_orders_cancelled", cause, details=details)

    async def apply_address_answer(
        self,
        order_id: uuid.UUID,
        address: dict[str, Any],
        applied: list[str],
        too_late: list[str],
        cause: Cause,
    ) -> None:
        """The suppliers took the new address: the order holds it now. A parcel that
        already left goes to the old one: recorded for the operator."""
        order, _shop = await self.unit.load(order_id)
        details = {"applied": applied, "too_late": too_late}
        if too_late:
            self.unit.record(
                order,
                "address_change_refused",
                cause,
                reason="already shipped by a supplier",
                details=details,
            )
            return
        if order.handed_off_at is not None and not same_place(order.shipping_address, address):
            order.shipping_address = {**(order.shipping_address or {}), **address}
            order.address_overridden = True
            self.unit.record(
                order,
                "address_change_applied",
                cause,
                reason="the suppliers ship to the new address",
                details=details,
            )

    async def mark_handed_off(self, order_id: uuid.UUID, at: dt.datetime, cause: Cause) -> None:
        order = await self.unit.repo.get(order_id, for_update=True)
        if order is None or order.handed_off_at is not None:
            return
        order.handed_off_at = at
        self.unit.record(order, "handed_off", cause, reason="placed with a supplier")
