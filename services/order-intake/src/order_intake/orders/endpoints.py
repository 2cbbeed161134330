"""``/v1/orders``: create (custom storefronts), list, read with timeline, and the
operator's actions (cancel, change address, map a SKU, release a hold)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy.exc import IntegrityError

from dropship_common.auth import Principal
from dropship_common.db import utcnow
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import ValidationFailed, error_responses
from dropship_common.paging import MAX_CURSOR_LENGTH
from order_intake.domain.order import Address
from order_intake.errors import OrderNotFound, ShopNotFound
from order_intake.orders import idempotency
from order_intake.orders.custom_request import CustomOrderRequest
from order_intake.orders.repository import OrderFilter, OrderRepository, encode_cursor
from order_intake.orders.schemas import (
    ActionResult,
    AddressIn,
    CancelIn,
    LineSkuIn,
    OrderOut,
    OrderPage,
    order_out,
)
from order_intake.orders.service import Cause, Orders
from order_intake.shops.repository import ShopRepository
from order_intake.storefronts.bounds import check_fits
from order_intake.storefronts.custom import to_canonical
from order_intake.tenancy import path_scope, require_shop, shops_filter

router = APIRouter(prefix="/v1/orders", tags=["orders"], dependencies=[Depends(path_scope)])


def _cause(principal: Principal, request: Request) -> Cause:
    return Cause(actor=principal.actor, ref=request.headers.get("x-correlation-id"))


async def _create(
    rt: Runtime,
    data: CustomOrderRequest,
    principal: Principal,
    request: Request,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """One transaction: the order, its events and, with a key, the stored response."""
    require_shop(principal, data.shop_id)
    co = to_canonical(data, utcnow())
    problems = check_fits(co)  # the sums of bounded lines may still not fit
    if problems:
        raise ValidationFailed("values out of the bounds the order store holds", problems)
    for attempt in (1, 2):
        try:
            async with rt.db.transaction() as session:
                shop = await ShopRepository(session).get(data.shop_id)
                if shop is None or shop.platform != "custom":
                    raise ShopNotFound(f"no custom shop {data.shop_id}")
                order = await Orders.direct(session, rt.outbox).intake.ingest(
                    shop, co, _cause(principal, request)
                )
                await session.flush()
                timeline = await OrderRepository(session).timeline(order.id)
                payload = order_out(order, timeline).model_dump(mode="json")
                if idempotency_key is not None:
                    await idempotency.complete(
                        session, principal.actor, idempotency_key, 201, payload
                    )
                return payload
        except IntegrityError:
            # the same order created concurrently: the second try sees it and updates
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@router.post("", status_code=201, response_model=OrderOut)
async def create_order(
    data: CustomOrderRequest,
    request: Request,
    rt: Runtime,
    principal: Operator,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """An order from a custom storefront. With ``Idempotency-Key`` a retry is safe."""
    if idempotency_key is None:
        return JSONResponse(await _create(rt, data, principal, request), status_code=201)
    who = principal.actor
    digest = idempotency.request_hash(await request.body())
    replay = await idempotency.claim(rt.db, who, idempotency_key, digest)
    if replay is not None:
        status, stored = replay
        return JSONResponse(stored, status_code=status, headers={"Idempotent-Replayed": "true"})
    try:
        payload = await _create(rt, data, principal, request, idempotency_key)
    except Exception:  # a cancelled request leaves the claim to expire (LEASE)
        await idempotency.release(rt.db, who, idempotency_key)
        raise
    return JSONResponse(payload, status_code=201)


@router.get(
    "",
    response_model=OrderPage,
    responses=error_responses({400: "a cursor this API did not give (bad_request)"}),
)
async def list_orders(
    rt: Runtime,
    who: Operator,
    status: str | None = None,
    shop_id: uuid.UUID | None = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    number: str | None = None,
    email: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=MAX_CURSOR_LENGTH),
) -> OrderPage:
    f = OrderFilter(status, shop_id, created_from, created_to, number, email, shops_filter(who))
    async with rt.db.sessions() as session:
        rows = await OrderRepository(session).search(f, limit + 1, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return OrderPage(items=[order_out(o) for o in rows], next_cursor=nxt)


@router.get("/{order_id}", response_model=OrderOut)
async def read_order(order_id: uuid.UUID, rt: Runtime, _: Operator) -> OrderOut:
    async with rt.db.sessions() as session:
        repo = OrderRepository(session)
        order = await repo.get(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return order_out(order, await repo.timeline(order_id))


async def _reload(rt: Runtime, order_id: uuid.UUID) -> OrderOut:
    async with rt.db.sessions() as session:
        repo = OrderRepository(session)
        order = await repo.get(order_id)
        assert order is not None
        return order_out(order, await repo.timeline(order_id))


@router.post("/{order_id}/cancel", response_model=ActionResult)
async def cancel_order(
    order_id: uuid.UUID, data: CancelIn, request: Request, rt: Runtime, principal: Operator
) -> ActionResult:
    async with rt.db.transaction() as session:
        result = await Orders.direct(session, rt.outbox).operator.cancel(
            order_id, data.reason, _cause(principal, request)
        )
    return ActionResult(result=result, order=await _reload(rt, order_id))


@router.put("/{order_id}/shipping-address", response_model=ActionResult)
async def change_address(
    order_id: uuid.UUID, data: AddressIn, request: Request, rt: Runtime, principal: Operator
) -> ActionResult:
    address = Address(**data.model_dump(), country=data.country_code)
    async with rt.db.transaction() as session:
        result = await Orders.direct(session, rt.outbox).operator.change_address(
            order_id, address, _cause(principal, request)
        )
    return ActionResult(result=result, order=await _reload(rt, order_id))


@router.put("/{order_id}/lines/{line_id}/sku", response_model=OrderOut)
async def map_line_sku(
    order_id: uuid.UUID,
    line_id: uuid.UUID,
    data: LineSkuIn,
    request: Request,
    rt: Runtime,
    principal: Operator,
) -> OrderOut:
    async with rt.db.transaction() as session:
        await Orders.direct(session, rt.outbox).operator.set_line_sku(
            order_id, line_id, data.sku, _cause(principal, request)
        )
    return await _reload(rt, order_id)


@router.post("/{order_id}/release", response_model=OrderOut)
async def release_order(
    order_id: uuid.UUID, request: Request, rt: Runtime, principal: Operator
) -> OrderOut:
    async with rt.db.transaction() as session:
        await Orders.direct(session, rt.outbox).operator.release(
            order_id, _cause(principal, request)
        )
    return await _reload(rt, order_id)
