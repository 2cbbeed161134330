"""Reading what a batch of webhook deliveries needs up front (the webhook processor)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from order_intake.domain.order import CanonicalOrder
from order_intake.orders.repository import OrderRepository
from order_intake.orders.unit import Prefetched
from order_intake.products.repository import ProductRepository


async def prefetch(
    session: AsyncSession, wanted: list[tuple[uuid.UUID, CanonicalOrder]]
) -> Prefetched:
    """The stored orders (locked, with their lines) and the shops' known SKU / product
    keys that ``wanted`` (shop, storefront order) needs, in two queries per shop."""
    found_all = Prefetched()
    repo = OrderRepository(session)
    by_shop: dict[uuid.UUID, list[CanonicalOrder]] = {}
    for shop_id, co in wanted:
        by_shop.setdefault(shop_id, []).append(co)
    for shop_id, orders in by_shop.items():
        ids = sorted({co.external_id for co in orders})
        found = {o.external_id: o for o in await repo.by_externals(shop_id, ids, lines=True)}
        for external_id in ids:
            found_all.orders[(shop_id, external_id)] = found.get(external_id)
        skus = {ln.sku for co in orders for ln in co.lines if ln.sku}
        skus |= {ln.effective_sku for o in found.values() for ln in o.lines if ln.effective_sku}
        pids = {
            ln.external_product_id for co in orders for ln in co.lines if ln.external_product_id
        }
        found_all.known_keys[shop_id] = await ProductRepository(session).known_keys(
            shop_id, skus, pids
        )
    return found_all
