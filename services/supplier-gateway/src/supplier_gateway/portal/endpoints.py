"""``/portal``: a supplier signs in with its key (kept in an HttpOnly, SameSite=Strict
cookie), sees its open orders as shipping notices, and accepts, rejects or ships them.
Forms are plain HTML posts: it works without JavaScript."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dropship_common.auth import live
from dropship_common.db import utcnow
from dropship_common.deps import Runtime
from dropship_common.errors import AppError, NotFound
from dropship_common.security import Role, hash_api_key
from supplier_gateway.domain.supplier_order import OPEN
from supplier_gateway.models import Supplier, SupplierOrder
from supplier_gateway.portal import pages
from supplier_gateway.supplier_orders import actions

router = APIRouter(prefix="/portal", tags=["supplier portal"], include_in_schema=False)

COOKIE = "dropship_portal"


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


async def _supplier(request: Request, rt: Runtime) -> Supplier | None:
    return await _supplier_for_key(rt, request.cookies.get(COOKIE) or "")


async def _supplier_for_key(rt: Runtime, key: str) -> Supplier | None:
    if not key:
        return None
    t = rt.tables.api_keys
    async with rt.db.sessions() as session:
        subject = await session.scalar(
            sa.select(t.c.subject).where(
                t.c.key_hash == hash_api_key(key),
                t.c.role == Role.SUPPLIER.value,
                live(t, utcnow()),  # not revoked, not past a replaced key's grace
            )
        )
        if subject is None:
            return None
        return await session.get(Supplier, uuid.UUID(subject))


@router.get("/login", response_class=HTMLResponse)
async def login_page() -> HTMLResponse:
    return HTMLResponse(pages.login())


@router.post("/login")
async def login(request: Request, rt: Runtime) -> Response:
    key = (await _form(request)).get("key", "").strip()
    if await _supplier_for_key(rt, key) is None:
        return HTMLResponse(pages.login("That key is not valid."), status_code=401)
    response = RedirectResponse("/portal", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", max_age=30 * 86400)
    return response


@router.get("", response_class=HTMLResponse)
async def my_orders(request: Request, rt: Runtime) -> Response:
    supplier = await _supplier(request, rt)
    if supplier is None:
        return RedirectResponse("/portal/login", status_code=303)
    async with rt.db.sessions() as session:
        rows = list(
            await session.scalars(
                sa.select(SupplierOrder)
                .where(
                    SupplierOrder.supplier_id == supplier.id,
                    SupplierOrder.status.in_([s.value for s in OPEN]),
                )
                .order_by(SupplierOrder.created_at)
            )
        )
    return HTMLResponse(pages.orders(supplier.name, rows))


async def _signed_in(request: Request, rt: Runtime) -> Supplier:
    supplier = await _supplier(request, rt)
    if supplier is None:
        raise NotFound("sign in at /portal/login")
    return supplier


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def one_order(order_id: uuid.UUID, request: Request, rt: Runtime) -> HTMLResponse:
    supplier = await _signed_in(request, rt)
    async with rt.db.sessions() as session:
        row = await session.scalar(
            sa.select(SupplierOrder).where(
                SupplierOrder.id == order_id, SupplierOrder.supplier_id == supplier.id
            )
        )
    if row is None:
        raise NotFound(f"no supplier order {order_id}")
    return HTMLResponse(pages.order(row))


@router.post("/orders/{order_id}/{action}")
async def act(order_id: uuid.UUID, action: str, request: Request, rt: Runtime) -> Response:
    supplier = await _signed_in(request, rt)
    form = await _form(request)
    actor = f"supplier:{supplier.id}"
    try:
        async with rt.db.transaction() as session:
            row = await actions.load_for_supplier(session, order_id, supplier.id)
            if action == "accept":
                await actions.accept(session, row, actor)
            elif action == "reject":
                restock = form.get("restock_date") or None
                await actions.reject(
                    session,
                    rt.outbox,
                    row,
                    actor,
                    form.get("reason", ""),
                    form.get("note") or None,
                    dt.date.fromisoformat(restock) if restock else None,
                )
            elif action == "ship":
                numbers = [
                    t for t in form.get("tracking", "").replace(",", "\n").splitlines() if t.strip()
                ]
                await actions.ship(session, rt.outbox, row, actor, form.get("carrier", ""), numbers)
            else:
                raise NotFound(f"no action {action}")
    except (AppError, ValueError) as exc:
        if isinstance(exc, NotFound):
            raise
        async with rt.db.sessions() as session:
            current = await session.get(SupplierOrder, order_id)
        assert current is not None
        status = exc.status_code if isinstance(exc, AppError) else 422
        details = f" {exc.details}" if isinstance(exc, AppError) and exc.details else ""
        message = exc.message if isinstance(exc, AppError) else str(exc)
        return HTMLResponse(pages.order(current, f"{message}{details}"), status_code=status)
    return RedirectResponse(f"/portal/orders/{order_id}", status_code=303)
