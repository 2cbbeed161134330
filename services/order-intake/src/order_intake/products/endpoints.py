"""``/v1/products``: the shop's SKUs, one by one or by CSV import."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request

from dropship_common.csvimport import decode
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import error_responses
from dropship_common.paging import MAX_OFFSET
from order_intake.products.repository import ProductRepository
from order_intake.products.schemas import ImportResult, ProductOut, ProductsCreate
from order_intake.products.service import parse_csv, upsert_products
from order_intake.shops.service import get_shop
from order_intake.tenancy import path_scope, require_shop

router = APIRouter(prefix="/v1/products", tags=["products"], dependencies=[Depends(path_scope)])


@router.post(
    "",
    status_code=201,
    response_model=list[ProductOut],
    responses=error_responses({404: "no shop with that shop_id (shop_not_found)"}),
)
async def post_products(data: ProductsCreate, rt: Runtime, who: Operator) -> list[ProductOut]:
    require_shop(who, data.shop_id)
    async with rt.db.transaction() as session:
        rows, _result = await upsert_products(session, data.shop_id, data.products)
        return [ProductOut.model_validate(r) for r in rows]


@router.post(
    "/import",
    response_model=ImportResult,
    responses=error_responses({404: "no shop with that shop_id (shop_not_found)"}),
)
async def import_products(
    request: Request, rt: Runtime, _: Operator, shop_id: uuid.UUID = Query()
) -> ImportResult:
    """Body: a CSV file (``text/csv``) with a header row."""
    products = parse_csv(decode(await request.body()))
    async with rt.db.transaction() as session:
        _rows, result = await upsert_products(session, shop_id, products)
    return result


@router.get(
    "",
    response_model=list[ProductOut],
    responses=error_responses({404: "no shop with that shop_id (shop_not_found)"}),
)
async def list_products(
    rt: Runtime,
    _: Operator,
    shop_id: uuid.UUID = Query(),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[ProductOut]:
    async with rt.db.sessions() as session:
        await get_shop(session, shop_id)
        rows = await ProductRepository(session).list(shop_id, limit, offset)
        return [ProductOut.model_validate(r) for r in rows]
