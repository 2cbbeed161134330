"""``/v1/shops``: storefronts served by this deployment (admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from dropship_common.deps import Admin, Operator, Runtime
from order_intake.shops.repository import ShopRepository
from order_intake.shops.schemas import ShopCreate, ShopOut, ShopUpdate
from order_intake.shops.service import create_shop, get_shop, shop_out, update_shop

router = APIRouter(prefix="/v1/shops", tags=["shops"])


@router.post("", status_code=201, response_model=ShopOut)
async def post_shop(data: ShopCreate, rt: Runtime, _: Admin) -> ShopOut:
    async with rt.db.transaction() as session:
        shop = await create_shop(session, data)
    return shop_out(shop, rt.settings.public_base_url)


@router.get("", response_model=list[ShopOut])
async def list_shops(rt: Runtime, _: Operator) -> list[ShopOut]:
    async with rt.db.sessions() as session:
        shops = await ShopRepository(session).list()
    return [shop_out(s, rt.settings.public_base_url) for s in shops]


@router.get("/{shop_id}", response_model=ShopOut)
async def read_shop(shop_id: uuid.UUID, rt: Runtime, _: Operator) -> ShopOut:
    async with rt.db.sessions() as session:
        shop = await get_shop(session, shop_id)
    return shop_out(shop, rt.settings.public_base_url)


@router.patch("/{shop_id}", response_model=ShopOut)
async def patch_shop(shop_id: uuid.UUID, data: ShopUpdate, rt: Runtime, _: Admin) -> ShopOut:
    async with rt.db.transaction() as session:
        shop = await update_shop(session, shop_id, data)
    rt.state["shop_cache"].clear()  # a rotated secret counts at once in this process
    return shop_out(shop, rt.settings.public_base_url)
