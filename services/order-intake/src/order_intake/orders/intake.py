"""A storefront's version of an order (webhook, reconciliation, the custom API): create
the order or apply the newer version, then re-assess it. Older versions than the one
stored are ignored (deliveries arrive in any order); the newest data wins."""

from __future__ import annotations

import datetime as dt
import uuid

from dropship_common.db import utcnow
from order_intake.domain.lifecycle import OrderStatus
from order_intake.domain.order import CanonicalOrder
from order_intake.models import Order, Shop
from order_intake.orders.transitions import OrderTransitions, same_place
from order_intake.orders.unit import Cause, OrderUnit
from order_intake.orders.view import apply_version


class StorefrontIntake:
    def __init__(self, unit: OrderUnit) -> None:
        self.unit = unit
        self.transitions = OrderTransitions(unit)

    async def ingest(
        self, shop: Shop, co: CanonicalOrder, cause: Cause, now: dt.datetime | None = None
    ) -> Order:
        now = now or utcnow()
        order = await self.unit.stored(shop.id, co.external_id)
        if order is not None and co.source_updated_at < order.source_updated_at:
            self.unit.record(
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
            order = self._new(shop, co, now)
            self.unit.record(
                order,
                "received",
                cause,
                to_status=None,
                at=now,
                details={"platform": co.platform.value, "number": co.number},
            )
            await self.transitions.evaluate(shop, order, cause, now, view=co)  # the view is co
            return order
        await self._update(shop, order, co, cause, now)
        return order

    def _new(self, shop: Shop, co: CanonicalOrder, now: dt.datetime) -> Order:
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
        self.unit.add_new(order)
        return order

    async def _update(
        self, shop: Shop, order: Order, co: CanonicalOrder, cause: Cause, now: dt.datetime
    ) -> None:
        was_confirmed = order.status == OrderStatus.CONFIRMED
        old_address = order.shipping_address
        storefront_address = co.shipping_address
        apply_version(order, co)
        self.unit.record(order, "updated", cause, at=now)
        if order.address_overridden and storefront_address is not None:
            self.unit.record(
                order,
                "storefront_address_ignored",
                cause,
                reason="the operator's correction is kept",
                at=now,
            )
        await self.transitions.evaluate(shop, order, cause, now)  # normalises the new address
        new_address = order.shipping_address
        if was_confirmed and new_address and not same_place(old_address, new_address):
            if order.handed_off_at is not None:
                order.shipping_address = old_address  # until the supplier agrees
            await self.transitions.address_changed(
                order, cause, now, source="storefront", address=new_address
            )
