"""``/v1/shops``: storefronts served by this deployment (admin)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.deps import Admin, Operator, Runtime
from dropship_common.egress import EgressRules
from order_intake.config import config_of
from order_intake.models import Shop
from order_intake.shops.repository import ShopRepository
from order_intake.shops.schemas import ShopCreate, ShopOut, ShopUpdate
from order_intake.shops.service import (
    check_storefront_destination,
    create_shop,
    get_shop,
    shop_out,
    update_shop,
)
from order_intake.storefront_sync.job import ShopSyncer
from order_intake.storefront_sync.repository import SyncRepository
from order_intake.tenancy import path_scope, shops_filter

router = APIRouter(prefix="/v1/shops", tags=["shops"], dependencies=[Depends(path_scope)])
CHECK_ON_ADD_SECONDS = 20.0


async def _out(session: AsyncSession, shop: Shop, base_url: str) -> ShopOut:
    return shop_out(shop, base_url, await SyncRepository(session).get(shop.id))


@router.post("", status_code=201, response_model=ShopOut)
async def post_shop(data: ShopCreate, rt: Runtime, _: Admin) -> ShopOut:
    """With admin credentials, the shop's webhook subscriptions are checked (and
    repaired) at the storefront before the answer (``webhook_health``; ``unchecked``
    when the storefront did not answer within 20 s: the worker checks it later)."""
    await check_storefront_destination(data, EgressRules.from_settings(config_of(rt)))
    async with rt.db.transaction() as session:
        shop = await create_shop(session, data)
    # a storefront that does not answer in time is checked by the worker's next pass
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CHECK_ON_ADD_SECONDS):
            await ShopSyncer(rt.db, config_of(rt), rt.state).check_webhooks(shop.id)
    async with rt.db.sessions() as session:
        return await _out(session, await get_shop(session, shop.id), config_of(rt).public_base_url)


@router.get("", response_model=list[ShopOut])
async def list_shops(rt: Runtime, who: Operator) -> list[ShopOut]:
    async with rt.db.sessions() as session:
        shops = await ShopRepository(session).list(shops_filter(who))
        syncs = await SyncRepository(session).by_shops([s.id for s in shops])
    return [shop_out(s, config_of(rt).public_base_url, syncs.get(s.id)) for s in shops]


@router.get("/{shop_id}", response_model=ShopOut)
async def read_shop(shop_id: uuid.UUID, rt: Runtime, _: Operator) -> ShopOut:
    async with rt.db.sessions() as session:
        return await _out(session, await get_shop(session, shop_id), config_of(rt).public_base_url)


@router.patch("/{shop_id}", response_model=ShopOut)
async def patch_shop(shop_id: uuid.UUID, data: ShopUpdate, rt: Runtime, _: Admin) -> ShopOut:
    async with rt.db.transaction() as session:
        shop = await update_shop(session, shop_id, data)
        out = await _out(session, shop, config_of(rt).public_base_url)
    rt.state["shop_cache"].clear()  # a rotated secret counts at once in this process
    return out
