"""What an operator (or the storefront, through a confirmed webhook) asks of an order:
cancel it, correct its address, map a line's SKU, release it from hold."""

from __future__ import annotations

import uuid
from typing import Any

from dropship_common.db import utcnow
from order_intake.domain.lifecycle import OPERATOR_HOLDS, OrderStatus
from order_intake.domain.order import Address
from order_intake.domain.validation import check_order
from order_intake.errors import IllegalOrderState, InvalidAddress, OrderLineNotFound, StillOnHold
from order_intake.models import Order
from order_intake.orders.transitions import OPEN_STATUSES, OrderTransitions
from order_intake.orders.unit import Cause, OrderUnit
from order_intake.orders.view import issue_dict, view_of


class OperatorActions:
    def __init__(self, unit: OrderUnit) -> None:
        self.unit = unit
        self.transitions = OrderTransitions(unit)

    async def cancel(self, order_id: uuid.UUID, reason: str, cause: Cause) -> str:
        """``cancelled`` before hand-off; ``requested`` after (the supplier decides)."""
        now = utcnow()
        order, shop = await self.unit.load(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise IllegalOrderState("the order is already cancelled")
        if order.handed_off_at is not None or order.status not in OPEN_STATUSES:
            await self.transitions.request_cancellation(order, reason, cause, now)
            return "requested"
        await self.transitions.move(shop, order, OrderStatus.CANCELLED, cause, now, why=reason)
        return "cancelled"

    async def change_address(self, order_id: uuid.UUID, address: Address, cause: Cause) -> str:
        """Applied before hand-off (the order is re-assessed); after: a request."""
        now = utcnow()
        order, shop = await self.unit.load(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise IllegalOrderState("the order is cancelled")
        probe = view_of(order).model_copy(update={"shipping_address": address})
        assessment = check_order(probe, await self.unit.known_keys(order))
        address_issues = [issue_dict(h) for h in assessment.holds if _is_address_issue(h)]
        if address_issues:
            raise InvalidAddress("the new address is not valid", address_issues)
        normalised = (assessment.address or address).model_dump(mode="json")
        if order.handed_off_at is not None:  # the supplier must agree first
            await self.transitions.address_changed(
                order, cause, now, source=cause.actor, address=normalised
            )
            return "requested"
        order.shipping_address = normalised
        order.address_overridden = True
        if order.status == OrderStatus.CONFIRMED:
            await self.transitions.address_changed(order, cause, now, source=cause.actor)
        else:
            self.unit.record(order, "address_corrected", cause, at=now)
            if order.status == OrderStatus.AWAITING_PAYMENT:
                await self.transitions.evaluate(shop, order, cause, now)
        return "applied"

    async def set_line_sku(
        self, order_id: uuid.UUID, line_id: uuid.UUID, sku: str, cause: Cause
    ) -> Order:
        order, _shop = await self.unit.load(order_id)
        if order.status not in (OrderStatus.ON_HOLD, OrderStatus.AWAITING_PAYMENT):
            raise IllegalOrderState("SKUs can be mapped only before confirmation")
        line = next((ln for ln in order.lines if ln.id == line_id), None)
        if line is None:
            raise OrderLineNotFound(f"no line {line_id} in order {order_id}")
        previous = line.effective_sku
        line.sku_override = sku
        self.unit.record(
            order,
            "sku_mapped",
            cause,
            details={"line_id": str(line_id), "from": previous, "to": sku},
        )
        return order

    async def release(self, order_id: uuid.UUID, cause: Cause) -> Order:
        """An operator corrected an on-hold order: check again, confirm if it passes."""
        now = utcnow()
        order, shop = await self.unit.load(order_id)
        if order.status != OrderStatus.ON_HOLD:
            raise IllegalOrderState(f"only an on_hold order can be released (it is {order.status})")
        # releasing is the operator's decision on the holds only an operator clears
        order.hold_reasons = [r for r in order.hold_reasons if r.get("code") not in OPERATOR_HOLDS]
        await self.transitions.evaluate(shop, order, cause, now)
        if order.status == OrderStatus.ON_HOLD:
            raise StillOnHold("the order still has problems", order.hold_reasons)
        return order


def _is_address_issue(issue: Any) -> bool:
    code = issue_dict(issue).get("code", "")
    return code not in ("unknown_sku", "missing_sku", "no_lines")
