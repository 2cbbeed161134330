"""Moving an order through its life: re-assess it and move it where the policy
(:mod:`order_intake.domain.lifecycle`) decides, with the events each move publishes
(``order.confirmed``, ``order.cancelled``, the address and cancellation requests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dropship_common.contracts.order_intake import (
    OrderAddressChanged,
    OrderAddressChangeRequested,
    OrderCancellationRequested,
    OrderCancelled,
)
from order_intake.domain.lifecycle import OPERATOR_HOLDS, OrderStatus, decide, ship_by, transition
from order_intake.domain.order import CanonicalOrder
from order_intake.domain.validation import Issue, check_order
from order_intake.models import Order, Shop
from order_intake.orders.events import address_v1, confirmed_event
from order_intake.orders.unit import Cause, OrderUnit
from order_intake.orders.view import issue_dict, view_of

# before hand-off, these can still be cancelled or re-addressed directly
OPEN_STATUSES = {OrderStatus.AWAITING_PAYMENT, OrderStatus.ON_HOLD, OrderStatus.CONFIRMED}


class OrderTransitions:
    def __init__(self, unit: OrderUnit) -> None:
        self.unit = unit

    async def evaluate(
        self,
        shop: Shop,
        order: Order,
        cause: Cause,
        now: dt.datetime,
        *,
        view: CanonicalOrder | None = None,
    ) -> None:
        """Re-assess the order and move it to the status the policy decides."""
        view = view or view_of(order)
        assessment = check_order(view, await self.unit.known_keys(order))
        order.warnings = [issue_dict(w) for w in assessment.warnings]
        if assessment.address is not None and order.status in ("new", *OPEN_STATUSES):
            order.shipping_address = assessment.address.model_dump(mode="json")
        current = None if order.status == "new" else OrderStatus(order.status)
        kept = [
            Issue.model_validate(r) for r in order.hold_reasons if r.get("code") in OPERATOR_HOLDS
        ]
        decision = decide(
            current,
            view,
            assessment,
            accept_authorized=shop.accept_authorized,
            kept_holds=kept if current is OrderStatus.ON_HOLD else (),
        )
        target = decision.status
        reasons = [issue_dict(r) for r in decision.reasons]
        if target == current:
            if target == OrderStatus.ON_HOLD and reasons != order.hold_reasons:
                order.hold_reasons = reasons
                self.unit.record(
                    order, "hold_reasons_changed", cause, details={"reasons": reasons}, at=now
                )
            return
        if target == OrderStatus.CANCELLED and order.handed_off_at is not None:
            if order.cancellation_requested_at is None:
                await self.request_cancellation(order, "cancelled at the storefront", cause, now)
            return
        await self.move(shop, order, target, cause, now, reasons=reasons)

    async def move(
        self,
        shop: Shop,
        order: Order,
        target: OrderStatus,
        cause: Cause,
        now: dt.datetime,
        *,
        reasons: list[dict[str, Any]] | None = None,
        why: str | None = None,
    ) -> None:
        current = None if order.status == "new" else OrderStatus(order.status)
        transition(current, target)
        order.status = target.value
        order.hold_reasons = (reasons or []) if target == OrderStatus.ON_HOLD else []
        reason_text = why or _reason_text(target, reasons or [])
        self.unit.record(
            order,
            "status_changed",
            cause,
            from_status=current.value if current else None,
            to_status=target.value,
            reason=reason_text,
            details={"reasons": reasons} if reasons else None,
            at=now,
        )
        if target == OrderStatus.CONFIRMED:
            await self._confirmed(shop, order, cause, now)
        elif target == OrderStatus.CANCELLED:
            order.cancelled_at = now
            cancelled = OrderCancelled(
                order_id=order.id, shop_id=order.shop_id, reason=reason_text, cancelled_at=now
            )
            await self.unit.publish(order, cancelled, cause)

    async def _confirmed(self, shop: Shop, order: Order, cause: Cause, now: dt.datetime) -> None:
        order.confirmed_at = now
        order.ship_by = ship_by(now, shop.handling_days, shop.ship_from_country)
        await self.unit.publish(order, confirmed_event(order, shop), cause)
        context = {"ship_by": order.ship_by.isoformat()}
        await self.unit.message_buyer(order, shop, "order_confirmed", context)

    async def address_changed(
        self,
        order: Order,
        cause: Cause,
        now: dt.datetime,
        *,
        source: str,
        address: dict[str, Any] | None = None,
    ) -> None:
        """``order.address_changed`` before hand-off; after it, a request the supplier
        must answer (``order.address_change_requested``)."""
        new = address or order.shipping_address
        assert new is not None
        event_address = address_v1(new)
        event: Any
        if order.handed_off_at is None:
            event = OrderAddressChanged(
                order_id=order.id,
                shop_id=order.shop_id,
                shipping_address=event_address,
                changed_at=now,
            )
            self.unit.record(order, "address_changed", cause, reason=f"changed by {source}", at=now)
        else:
            event = OrderAddressChangeRequested(
                order_id=order.id,
                shop_id=order.shop_id,
                shipping_address=event_address,
                requested_by=cause.actor,
                requested_at=now,
            )
            self.unit.record(
                order,
                "address_change_requested",
                cause,
                reason="after hand-off: the supplier must be asked",
                at=now,
            )
        await self.unit.publish(order, event, cause)

    async def request_cancellation(
        self, order: Order, reason: str, cause: Cause, now: dt.datetime
    ) -> None:
        order.cancellation_requested_at = now
        self.unit.record(order, "cancellation_requested", cause, reason=reason, at=now)
        requested = OrderCancellationRequested(
            order_id=order.id,
            shop_id=order.shop_id,
            reason=reason,
            requested_by=cause.actor,
            requested_at=now,
        )
        await self.unit.publish(order, requested, cause)


ADDRESS_FIELDS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "province_code",
    "postal_code",
    "country_code",
    "phone",
)


def same_place(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Same delivery address, whatever the spelling of fields we do not ship by."""
    if a is None or b is None:
        return a is b
    return all(a.get(f) == b.get(f) for f in ADDRESS_FIELDS)


def _reason_text(target: OrderStatus, reasons: list[dict[str, Any]]) -> str:
    if target == OrderStatus.ON_HOLD:
        return "held: " + ", ".join(sorted({r.get("code", "?") for r in reasons}))
    return {
        OrderStatus.AWAITING_PAYMENT: "waiting for the buyer's payment",
        OrderStatus.CONFIRMED: "paid and valid",
        OrderStatus.CANCELLED: "cancelled at the storefront",
    }.get(target, target.value)
