"""Reading what a batch of webhook deliveries needs up front (the webhook processor)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.messaging.envelope import Envelope
from order_intake.domain.order import CanonicalOrder
from order_intake.models import Order, Shop
from order_intake.orders.repository import OrderRepository
from order_intake.products.repository import ProductRepository


@dataclass
class BatchCache:
    """What a batch of webhook deliveries needs, read in a few queries up front
    instead of a few per order (see the webhook processor)."""

    orders: dict[tuple[uuid.UUID, str], Order | None] = field(default_factory=dict)
    known_keys: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    created: set[uuid.UUID] = field(default_factory=set)
    events: list[Envelope] = field(default_factory=list)  # written at the batch's end
    shops: dict[uuid.UUID, Shop] = field(default_factory=dict)  # strong refs: the
    # session's identity map is weak and would load the shop again for every order
    # bulk: the batch holds order versions only, so nothing in it reads back from the
    # database what it creates; new orders, timeline entries and buyer messages are
    # then kept here and written by statement at the end (``write_rows``)
    bulk: bool = False
    new_orders: list[Order] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def write_rows(self, session: AsyncSession) -> None:
        await OrderRepository(session).insert_new(self.new_orders, self.timeline, self.messages)
        self.new_orders, self.timeline, self.messages = [], [], []

    async def prefetch(
        self, session: AsyncSession, wanted: list[tuple[uuid.UUID, CanonicalOrder]]
    ) -> None:
        repo = OrderRepository(session)
        by_shop: dict[uuid.UUID, list[CanonicalOrder]] = {}
        for shop_id, co in wanted:
            by_shop.setdefault(shop_id, []).append(co)
        for shop_id, orders in by_shop.items():
            ids = sorted({co.external_id for co in orders})
            found = {o.external_id: o for o in await repo.by_externals(shop_id, ids, lines=True)}
            for external_id in ids:
                self.orders[(shop_id, external_id)] = found.get(external_id)
            skus = {ln.sku for co in orders for ln in co.lines if ln.sku}
            skus |= {ln.effective_sku for o in found.values() for ln in o.lines if ln.effective_sku}
            pids = {
                ln.external_product_id for co in orders for ln in co.lines if ln.external_product_id
            }
            self.known_keys[shop_id] = await ProductRepository(session).known_keys(
                shop_id, skus, pids
            )
