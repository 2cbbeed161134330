"""The order's life in order-intake: ingest a storefront version, confirm or hold,
cancel, change the address, release. Services never commit: the caller owns the
transaction, so the state change, its timeline entry, its events (outbox) and its
buyer message are one commit."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.order_intake import (
    OrderAddressChanged,
    OrderAddressChangeRequested,
    OrderCancellationRequested,
    OrderCancelled,
)
from dropship_common.db import utcnow
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.outbox import Outbox
from order_intake.domain.lifecycle import (
    OPERATOR_HOLDS,
    OrderStatus,
    decide,
    ship_by,
    transition,
)
from order_intake.domain.order import Address, CanonicalOrder
from order_intake.domain.validation import Issue, check_order
from order_intake.errors import (
    IllegalOrderState,
    InvalidAddress,
    OrderLineNotFound,
    OrderNotFound,
    StillOnHold,
)
from order_intake.messages.service import MAIL_FLAG, buyer_message_row, queue_buyer_message
from order_intake.models import Order, OrderEvent, Shop
from order_intake.orders.batch import BatchCache
from order_intake.orders.events import address_v1, confirmed_event
from order_intake.orders.repository import OrderRepository
from order_intake.orders.view import apply_version, issue_dict, view_of
from order_intake.products.repository import ProductRepository
from order_intake.shops.repository import ShopRepository

# before hand-off, these can still be cancelled or re-addressed directly
OPEN_STATUSES = {OrderStatus.AWAITING_PAYMENT, OrderStatus.ON_HOLD, OrderStatus.CONFIRMED}


@dataclass(frozen=True)
class Cause:
    """Who or what made a change: shown in the timeline."""

    actor: str  # "webhook:shopify", "apikey:ab12cd34", "system:payment-sweeper"
    ref: str | None = None  # the webhook delivery / message / request that caused it


@dataclass
class OrderOps:
    """Order operations bound to one transaction."""

    session: AsyncSession
    outbox: Outbox
    cache: BatchCache | None = None

    @property
    def repo(self) -> OrderRepository:
        return OrderRepository(self.session)

    async def shop(self, shop_id: uuid.UUID) -> Shop:
        if self.cache is not None and shop_id in self.cache.shops:
            return self.cache.shops[shop_id]
        shop = await ShopRepository(self.session).get(shop_id)
        assert shop is not None
        if self.cache is not None:
            self.cache.shops[shop_id] = shop
        return shop

    # --- timeline and events -------------------------------------------------------
    def record(
        self,
        order: Order,
        kind: str,
        cause: Cause,
        *,
        from_status: str | None = None,
        to_status: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        entry = {
            "order_id": order.id,
            "at": at or utcnow(),
            "kind": kind,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "details": details,
            "cause": cause.ref,
            "actor": cause.actor,
        }
        if self.cache is not None and self.cache.bulk:
            self.cache.timeline.append(entry)
        else:
            self.session.add(OrderEvent(**entry))

    async def publish(self, order: Order, envelope: Envelope) -> None:
        if self.cache is not None:  # a batch writes its events in one statement
            self.cache.events.append(envelope)
            return
        await self.outbox.add(self.session, [envelope])

    async def write_batched_events(self) -> None:
        """In batch mode: into the outbox, in the order they happened (same transaction);
        in bulk mode the new orders, timeline entries and messages too."""
        if self.cache is not None and self.cache.bulk:
            await self.cache.write_rows(self.session)
        if self.cache is not None and self.cache.events:
            await self.outbox.add(self.session, self.cache.events)
            self.cache.events = []

    def _envelope(self, order: Order, event: Any, cause: Cause) -> Envelope:
        env: Envelope = event.envelope(correlation_id=str(order.id), causation_id=cause.ref)
        return env

    # --- ingest ------------------------------------------------------------------
    async def stored(self, shop_id: uuid.UUID, external_id: str) -> Order | None:
        """The stored order, as :meth:`ingest` would find it (the batch's first)."""
        key = (shop_id, external_id)
        if self.cache is not None and key in self.cache.orders:
            return self.cache.orders[key]
        return await self.repo.by_external(shop_id, external_id, for_update=True)

    async def ingest(
        self, shop: Shop, co: CanonicalOrder, cause: Cause, now: dt.datetime | None = None
    ) -> Order:
        """Apply a storefront version of an order. Older versions than the one stored
        are ignored (deliveries arrive in any order); the newest data wins."""
        now = now or utcnow()
        key = (shop.id, co.external_id)
        order = await self.stored(shop.id, co.external_id)
        if order is not None and co.source_updated_at < order.source_updated_at:
            self.record(
                order,
                "stale_version_ignored",
                cause,
                details={
                    "received_version": co.source_updated_at.isoformat(),
                    "stored_version": order.source_updated_at.isoformat(),
                },
                at=now,
            )
            return order
        if order is None:
            order = Order(
                id=uuid.uuid4(),
                shop_id=shop.id,
                external_id=co.external_id,
                status="new",
                hold_reasons=[],
                warnings=[],
                reminders_sent=[],
                address_overridden=False,
                lines=[],
                created_at=now,
            )
            apply_version(order, co)
            if self.cache is not None and self.cache.bulk:
                self.cache.new_orders.append(order)  # inserted at the batch's end
            else:
                self.session.add(order)
            if self.cache is not None:
                self.cache.orders[key] = order
                self.cache.created.add(order.id)
            self.record(
                order,
                "received",
                cause,
                to_status=None,
                at=now,
                details={"platform": co.platform.value, "number": co.number},
            )
        else:
            was_confirmed = order.status == OrderStatus.CONFIRMED
            old_address = order.shipping_address
            storefront_address = co.shipping_address
            apply_version(order, co)
            self.record(order, "updated", cause, at=now)
            if order.address_overridden and storefront_address is not None:
                self.record(
                    order,
                    "storefront_address_ignored",
                    cause,
                    reason="the operator's correction is kept",
                    at=now,
                )
            await self.evaluate(shop, order, cause, now)  # normalises the new address
            new_address = order.shipping_address
            if was_confirmed and new_address and not _same_place(old_address, new_address):
                if order.handed_off_at is not None:
                    order.shipping_address = old_address  # until the supplier agrees
                await self._address_changed(
                    shop, order, cause, now, source="storefront", address=new_address
                )
            return order
        await self.evaluate(shop, order, cause, now, view=co)  # new: the view is co
        return order

    async def _known_keys(self, order: Order) -> set[str]:
        skus = [line.effective_sku for line in order.lines if line.effective_sku]
        pids = [line.external_product_id for line in order.lines if line.external_product_id]
        if self.cache is not None and order.shop_id in self.cache.known_keys:
            return self.cache.known_keys[order.shop_id]  # the batch's SKUs, read up front
        return await ProductRepository(self.session).known_keys(order.shop_id, skus, pids)

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
        assessment = check_order(view, await self._known_keys(order))
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
                self.record(
                    order, "hold_reasons_changed", cause, details={"reasons": reasons}, at=now
                )
            return
        if target == OrderStatus.CANCELLED and order.handed_off_at is not None:
            if order.cancellation_requested_at is None:
                await self._request_cancellation(order, "cancelled at the storefront", cause, now)
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
        self.record(
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
            await self.publish(
                order,
                self._envelope(
                    order,
                    OrderCancelled(
                        order_id=order.id,
                        shop_id=order.shop_id,
                        reason=reason_text,
                        cancelled_at=now,
                    ),
                    cause,
                ),
            )

    async def _confirmed(self, shop: Shop, order: Order, cause: Cause, now: dt.datetime) -> None:
        order.confirmed_at = now
        order.ship_by = ship_by(now, shop.handling_days, shop.ship_from_country)
        event = confirmed_event(order, shop)
        await self.publish(order, self._envelope(order, event, cause))
        context = {"ship_by": order.ship_by.isoformat()}
        if self.cache is not None and self.cache.bulk and order.id in self.cache.created:
            # new in this batch: nothing queued for it yet, and it is written at the end
            self.cache.messages.append(buyer_message_row(order, shop, "order_confirmed", context))
            self.session.info[MAIL_FLAG] = True
            return
        await queue_buyer_message(
            self.session,
            order,
            shop,
            "order_confirmed",
            context,
            new_order=self.cache is not None and order.id in self.cache.created,
        )

    async def _address_changed(
        self,
        shop: Shop,
        order: Order,
        cause: Cause,
        now: dt.datetime,
        *,
        source: str,
        address: dict[str, Any] | None = None,
    ) -> None:
        new = address or order.shipping_address
        assert new is not None
        event_address = address_v1(new)
        if order.handed_off_at is None:
            event: Any = OrderAddressChanged(
                order_id=order.id,
                shop_id=order.shop_id,
                shipping_address=event_address,
                changed_at=now,
            )
            self.record(order, "address_changed", cause, reason=f"changed by {source}", at=now)
        else:
            event = OrderAddressChangeRequested(
                order_id=order.id,
                shop_id=order.shop_id,
                shipping_address=event_address,
                requested_by=cause.actor,
                requested_at=now,
            )
            self.record(
                order,
                "address_change_requested",
                cause,
                reason="after hand-off: the supplier must be asked",
                at=now,
            )
        await self.publish(order, self._envelope(order, event, cause))

    async def _request_cancellation(
        self, order: Order, reason: str, cause: Cause, now: dt.datetime
    ) -> None:
        order.cancellation_requested_at = now
        self.record(order, "cancellation_requested", cause, reason=reason, at=now)
        await self.publish(
            order,
            self._envelope(
                order,
                OrderCancellationRequested(
                    order_id=order.id,
                    shop_id=order.shop_id,
                    reason=reason,
                    requested_by=cause.actor,
                    requested_at=now,
                ),
                cause,
            ),
        )

    # --- operator actions --------------------------------------------------------
    async def load(self, order_id: uuid.UUID) -> tuple[Order, Shop]:
        order = await self.repo.get(order_id, for_update=True)
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        shop = await ShopRepository(self.session).get(order.shop_id)
        assert shop is not None
        return order, shop

    async def cancel(self, order_id: uuid.UUID, reason: str, cause: Cause) -> str:
        """``cancelled`` before hand-off; ``requested`` after (the supplier decides)."""
        now = utcnow()
        order, shop = await self.load(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise IllegalOrderState("the order is already cancelled")
        if order.handed_off_at is not None or order.status not in OPEN_STATUSES:
            await self._request_cancellation(order, reason, cause, now)
            return "requested"
        await self.move(shop, order, OrderStatus.CANCELLED, cause, now, why=reason)
        return "cancelled"

    async def change_address(self, order_id: uuid.UUID, address: Address, cause: Cause) -> str:
        """Applied before hand-off (the order is re-assessed); after: a request."""
        now = utcnow()
        order, shop = await self.load(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise IllegalOrderState("the order is cancelled")
        probe = view_of(order).model_copy(update={"shipping_address": address})
        assessment = check_order(probe, await self._known_keys(order))
        address_issues = [issue_dict(h) for h in assessment.holds if _is_address_issue(h)]
        if address_issues:
            raise InvalidAddress("the new address is not valid", address_issues)
        normalised = (assessment.address or address).model_dump(mode="json")
        if order.handed_off_at is not None:  # the supplier must agree first
            await self._address_changed(
                shop, order, cause, now, source=cause.actor, address=normalised
            )
            return "requested"
        order.shipping_address = normalised
        order.address_overridden = True
        if order.status == OrderStatus.CONFIRMED:
            await self._address_changed(shop, order, cause, now, source=cause.actor)
        else:
            self.record(order, "address_corrected", cause, at=now)
            if order.status == OrderStatus.AWAITING_PAYMENT:
                await self.evaluate(shop, order, cause, now)
        return "applied"

    async def set_line_sku(
        self, order_id: uuid.UUID, line_id: uuid.UUID, sku: str, cause: Cause
    ) -> Order:
        order, _shop = await self.load(order_id)
        if order.status not in (OrderStatus.ON_HOLD, OrderStatus.AWAITING_PAYMENT):
            raise IllegalOrderState("SKUs can be mapped only before confirmation")
        line = next((ln for ln in order.lines if ln.id == line_id), None)
        if line is None:
            raise OrderLineNotFound(f"no line {line_id} in order {order_id}")
        previous = line.effective_sku
        line.sku_override = sku
        self.record(
            order,
            "sku_mapped",
            cause,
            details={"line_id": str(line_id), "from": previous, "to": sku},
        )
        return order

    async def release(self, order_id: uuid.UUID, cause: Cause) -> Order:
        """An operator corrected an on-hold order: check again, confirm if it passes."""
        now = utcnow()
        order, shop = await self.load(order_id)
        if order.status != OrderStatus.ON_HOLD:
            raise IllegalOrderState(f"only an on_hold order can be released (it is {order.status})")
        # releasing is the operator's decision on the holds only an operator clears
        order.hold_reasons = [r for r in order.hold_reasons if r.get("code") not in OPERATOR_HOLDS]
        await self.evaluate(shop, order, cause, now)
        if order.status == OrderStatus.ON_HOLD:
            raise StillOnHold("the order still has problems", order.hold_reasons)
        return order

    async def note_supplier_event(
        self, order_id: uuid.UUID, kind: str, reason: str, details: dict[str, Any], cause: Cause
    ) -> None:
        """A supplier rejected or is late: on the timeline for the operator, who offers
        the buyer a longer wait, a substitute, or cancels."""
        order = await self.repo.get(order_id, for_update=True)
        if order is not None:
            self.record(order, kind, cause, reason=reason, details=details)

    async def apply_cancellation_answer(
        self, order_id: uuid.UUID, cancelled: list[str], shipped: list[str], cause: Cause
    ) -> None:
        """Every supplier stopped it: the requested cancellation is done. Some parcel
        already left: it stays, recorded (a return, for aftersales)."""
        order, shop = await self.load(order_id)
        details = {"cancelled": cancelled, "already_shipped": shipped}
        if shipped:
            self.record(
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
            await self.move(
                shop,
                order,
                OrderStatus.CANCELLED,
                cause,
                utcnow(),
                why="cancelled at the supplier(s)",
            )
        else:
            self.record(order, "supplier_orders_cancelled", cause, details=details)

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
        order, _shop = await self.load(order_id)
        details = {"applied": applied, "too_late": too_late}
        if too_late:
            self.record(
                order,
                "address_change_refused",
                cause,
                reason="already shipped by a supplier",
                details=details,
            )
            return
        if order.handed_off_at is not None and not _same_place(order.shipping_address, address):
            order.shipping_address = {**(order.shipping_address or {}), **address}
            order.address_overridden = True
            self.record(
                order,
                "address_change_applied",
                cause,
                reason="the suppliers ship to the new address",
                details=details,
            )

    async def mark_handed_off(self, order_id: uuid.UUID, at: dt.datetime, cause: Cause) -> None:
        order = await self.repo.get(order_id, for_update=True)
        if order is None or order.handed_off_at is not None:
            return
        order.handed_off_at = at
        self.record(order, "handed_off", cause, reason="placed with a supplier")


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


def _same_place(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Same delivery address, whatever the spelling of fields we do not ship by."""
    if a is None or b is None:
        return a is b
    return all(a.get(f) == b.get(f) for f in ADDRESS_FIELDS)


def _is_address_issue(issue: Any) -> bool:
    code = issue_dict(issue).get("code", "")
    return code not in ("unknown_sku", "missing_sku", "no_lines")


def _reason_text(target: OrderStatus, reasons: list[dict[str, Any]]) -> str:
    if target == OrderStatus.ON_HOLD:
        return "held: " + ", ".join(sorted({r.get("code", "?") for r in reasons}))
    return {
        OrderStatus.AWAITING_PAYMENT: "waiting for the buyer's payment",
        OrderStatus.CONFIRMED: "paid and valid",
        OrderStatus.CANCELLED: "cancelled at the storefront",
    }.get(target, target.value)


__all__ = ["Cause", "OrderOps"]
