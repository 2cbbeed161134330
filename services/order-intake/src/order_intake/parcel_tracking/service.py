"""What logistics' ``shipment.*`` events change here, in the consumer's transaction:

* the parcel's status; the order ``delivered`` once every parcel of a shipped order is,
  or was replaced by an aftersales reship that is (``domain/delivery.py``);
  every change on the order's timeline;
* a storefront milestone per parcel and milestone (sent after commit by the milestone
  worker, exactly once): in transit, out for delivery, attempted, ready for pickup,
  delivered, failure, delayed;
* the buyer's message, once per parcel and kind (the buyer message's dedupe key is the
  tracking number): customs, out for delivery, pickup, failed attempt, delivered, the
  7/30-day follow-up, a stall (reassuring, or "ask your post office" on a route that
  loses tracking), a delay with the new estimate. Logistics already decides which
  status changes are news for the buyer (``buyer_notice``), so a catch-up burst is one
  message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.logistics import (
    ShipmentDeliveryWindowExtended,
    ShipmentFollowUp,
    ShipmentPresumedLost,
    ShipmentStalled,
    ShipmentStatusChanged,
)
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from order_intake.config import OrderIntakeSettings
from order_intake.domain.delivery import every_parcel_arrived
from order_intake.domain.lifecycle import OrderStatus
from order_intake.fulfilment.plugins import writes_back
from order_intake.messages.links import help_page, help_text
from order_intake.messages.service import queue_buyer_message
from order_intake.messages.templates import CUSTOMS_DUTY, HELP, language_of
from order_intake.models import Order, Parcel
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, Orders
from order_intake.parcel_tracking.repository import MilestoneRepository, ParcelStatusRepository
from order_intake.shops.repository import ShopRepository

log = structlog.get_logger(__name__)

MILESTONE_FLAG = "milestones_dirty"

# logistics' statuses the storefront hears of (others stay on our timeline)
STOREFRONT_MILESTONES = frozenset(
    {
        "in_transit",
        "in_customs",
        "out_for_delivery",
        "available_for_pickup",
        "delivery_failed",
        "delivered",
        "exception",
        "returning",
        "returned_to_sender",
        "lost",
    }
)
CAUSE = "service:logistics"

AnyShipmentEvent = (
    ShipmentStatusChanged
    | ShipmentFollowUp
    | ShipmentStalled
    | ShipmentPresumedLost
    | ShipmentDeliveryWindowExtended
)


def _page(settings: OrderIntakeSettings | None, event: AnyShipmentEvent, parcel: Parcel) -> str:
    base = settings.tracking_page_base_url if settings else None
    return f"{base.rstrip('/')}{event.tracking_page}" if base else parcel.tracking_url


class ParcelUpdates:
    def __init__(
        self,
        session: AsyncSession,
        outbox: Outbox,
        settings: OrderIntakeSettings | None,
        ref: str,
    ) -> None:
        self.session = session
        self.outbox = outbox
        self.settings = settings
        self.cause = Cause(actor=CAUSE, ref=ref)
        self.orders = Orders.direct(session, outbox)

    async def _load(self, event: AnyShipmentEvent) -> tuple[Order, Parcel, list[Parcel]] | None:
        order = await OrderRepository(self.session).get(event.order_id, for_update=True)
        if order is None:
            log.warning("shipment_event_for_unknown_order", order=str(event.order_id))
            return None
        parcels = await ParcelStatusRepository(self.session).of_order(order.id, for_update=True)
        mine = next((p for p in parcels if p.tracking_number == event.tracking_number), None)
        if mine is None:
            log.warning(
                "shipment_event_for_unknown_parcel",
                order=str(order.id),
                number=event.tracking_number,
            )
            return None
        return order, mine, parcels

    async def _message(
        self, order: Order, parcel: Parcel, event: AnyShipmentEvent, kind: str, **extra: Any
    ) -> None:
        if order.status == OrderStatus.CANCELLED:
            return  # a parcel after a cancellation: aftersales speaks to the buyer
        shop = await ShopRepository(self.session).get(order.shop_id)
        assert shop is not None
        if kind == "parcel_customs":
            duty = getattr(event, "duty_likely", None)
            language = language_of(
                str(order.buyer.get("language") or shop.buyer_language), CUSTOMS_DUTY[True]
            )
            extra = {"duty": "" if duty is None else CUSTOMS_DUTY[duty][language], **extra}
        if kind == "parcel_delivered":
            base = self.settings.aftersales_base_url if self.settings else None
            language = language_of(str(order.buyer.get("language") or shop.buyer_language), HELP)
            extra = {"help": help_text(language, help_page(base, order.id)), **extra}
        context = {
            "carrier": event.carrier_name or parcel.carrier,
            "tracking_number": parcel.tracking_number,
            "tracking_url": _page(self.settings, event, parcel),
            "window_to": event.window_to.isoformat(),
            **extra,
        }
        await queue_buyer_message(
            self.session, order, shop, kind, context, dedupe_key=parcel.tracking_number[:40]
        )

    async def _milestone(
        self,
        order: Order,
        parcel: Parcel,
        milestone: str,
        at: dt.datetime,
        message: str | None,
        *,
        estimated: dt.date | None = None,
        completes: bool = False,
    ) -> None:
        if not writes_back(order.platform) or order.status == OrderStatus.CANCELLED:
            return
        queued = await MilestoneRepository(self.session).add_new(
            {
                "order_id": order.id,
                "shop_id": order.shop_id,
                "platform": order.platform,
                "tracking_number": parcel.tracking_number,
                "milestone": milestone,
                "happened_at": at,
                "message": (message or None) and message[:500],
                "estimated_delivery": estimated,
                "completes_delivery": completes,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "created_at": utcnow(),
            }
        )
        if queued:
            self.session.info[MILESTONE_FLAG] = True

    async def status_changed(self, event: ShipmentStatusChanged) -> None:
        loaded = await self._load(event)
        if loaded is None:
            return
        order, parcel, parcels = loaded
        # logistics never goes back, but the bus may deliver its events out of order: a
        # late one is kept on the timeline and the storefront's (its time is its own),
        # and changes neither the parcel nor the buyer's messages
        late = parcel.status_at is not None and event.occurred_at < parcel.status_at
        if not late:
            parcel.status, parcel.status_at = event.status, event.occurred_at
            if event.status == "delivered":
                parcel.delivered_at = event.occurred_at
        where = f" ({event.location})" if event.location else ""
        self.orders.unit.record(
            order,
            "parcel_status",
            self.cause,
            reason=f"{parcel.tracking_number}: {event.previous_status} -> {event.status}{where}"
            + (" (arrived late)" if late else ""),
            details={
                "tracking_number": parcel.tracking_number,
                "status": event.status,
                "previous_status": event.previous_status,
                "occurred_at": event.occurred_at.isoformat(),
                "description": event.description,
                "late": late,
            },
            at=utcnow(),
        )
        if every_parcel_arrived(parcels) and order.status == OrderStatus.SHIPPED:
            shop = await ShopRepository(self.session).get(order.shop_id)
            assert shop is not None
            await self.orders.transitions.move(
                shop,
                order,
                OrderStatus.DELIVERED,
                self.cause,
                utcnow(),
                why="every parcel delivered"
                if all(p.status == "delivered" for p in parcels)
                else "every parcel delivered or replaced by a delivered reship",
            )
        if event.status in STOREFRONT_MILESTONES:
            await self._milestone(
                order,
                parcel,
                event.status,
                event.occurred_at,
                event.description,
                completes=event.status == "delivered" and order.status == OrderStatus.DELIVERED,
            )
        if event.buyer_notice and not late:
            await self._message(order, parcel, event, f"parcel_{event.buyer_notice}")

    async def follow_up(self, event: ShipmentFollowUp) -> None:
        loaded = await self._load(event)
        if loaded is None:
            return
        order, parcel, _ = loaded
        self.orders.unit.record(
            order,
            "parcel_follow_up",
            self.cause,
            reason=f"{parcel.tracking_number}: {event.status}, expected by {event.window_to}",
            at=utcnow(),
        )
        await self._message(
            order,
            parcel,
            event,
            "parcel_follow_up",
            status=event.last_scan or event.status.replace("_", " "),
        )

    async def stalled(self, event: ShipmentStalled) -> None:
        loaded = await self._load(event)
        if loaded is None:
            return
        order, parcel, _ = loaded
        self.orders.unit.record(
            order,
            "parcel_stalled",
            self.cause,
            reason=f"{parcel.tracking_number}: no scan for {event.silent_days} days"
            + (" (a route that loses tracking)" if event.silent_route else ""),
            at=utcnow(),
        )
        kind = "parcel_silent_route" if event.silent_route else "parcel_stalled"
        await self._message(order, parcel, event, kind)

    async def window_extended(self, event: ShipmentDeliveryWindowExtended) -> None:
        loaded = await self._load(event)
        if loaded is None:
            return
        order, parcel, _ = loaded
        self.orders.unit.record(
            order,
            "delivery_window_extended",
            self.cause,
            reason=f"{parcel.tracking_number}: {event.previous_window_to} -> {event.window_to}"
            f" ({event.reason})",
            at=utcnow(),
        )
        await self._milestone(
            order,
            parcel,
            "delayed",
            utcnow(),
            f"new estimate: by {event.window_to}",
            estimated=event.window_to,
        )
        if event.reason != "silent_route":  # that buyer was told why already
            await self._message(order, parcel, event, "parcel_delayed")

    async def presumed_lost(self, event: ShipmentPresumedLost) -> None:
        loaded = await self._load(event)
        if loaded is None:
            return
        order, parcel, _ = loaded
        self.orders.unit.record(
            order,
            "parcel_presumed_lost",
            self.cause,
            reason=f"{parcel.tracking_number}: no tracking information for {event.silent_days}"
            " days (aftersales opens a case)",
            at=utcnow(),
        )
