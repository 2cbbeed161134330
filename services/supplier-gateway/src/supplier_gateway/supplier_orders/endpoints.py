"""``/v1/supplier-orders``: what each supplier is to ship, with its timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.exc import NoResultFound

from dropship_common.db import utcnow
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import Conflict, NotFound, ValidationFailed
from supplier_gateway.config import config_of
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.errors import PlacementInFlight, error_responses
from supplier_gateway.models import SupplierOrder
from supplier_gateway.placement.repository import PlacementRepository
from supplier_gateway.supplier_orders.resolution import Resolution, resolve
from supplier_gateway.supplier_orders.service import PLACE_FLAG, listed, timeline, unrouted
from supplier_gateway.tenancy import shop_scope

router = APIRouter(
    prefix="/v1/supplier-orders", tags=["supplier orders"], dependencies=[Depends(shop_scope)]
)


class TimelineEntry(BaseModel):
    at: dt.datetime
    kind: str
    from_status: str | None
    to_status: str | None
    details: dict[str, Any] | None
    cause: str | None


class SupplierOrderOut(BaseModel):
    model_config = {"from_attributes": True}

    id: uuid.UUID
    order_id: uuid.UUID
    shop_id: uuid.UUID
    supplier_id: uuid.UUID
    status: str
    notice: dict[str, Any]
    created_at: dt.datetime
    # placement through the supplier's adapter
    supplier_ref: str | None = None
    place_attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    # lookups in a row that settled nothing (needs_attention after a few)
    unsettled_lookups: int = 0
    # cancelled here, but the supplier would not stop it: it ships (a return, then)
    cancel_refused: bool = False
    # a reship: the aftersales case it resolves and the supplier order it replaces
    case_id: uuid.UUID | None = None
    replaces_id: uuid.UUID | None = None
    timeline: list[TimelineEntry] | None = None


class UnroutedOut(BaseModel):
    model_config = {"from_attributes": True}

    line_id: uuid.UUID
    sku: str | None
    destination_country: str | None


class OrderSupplierOrders(BaseModel):
    supplier_orders: list[SupplierOrderOut]
    unrouted_lines: list[UnroutedOut]  # no active supplier is mapped to ship these


@router.get(
    "",
    response_model=OrderSupplierOrders,
    responses=error_responses({422: "neither order_id nor status given, or a bad value"}),
)
async def listing(
    rt: Runtime,
    who: Operator,
    order_id: uuid.UUID | None = Query(None, description="the supplier orders of one order"),
    status: Status | None = Query(None, description="e.g. needs_attention: an operator's list"),
    limit: int = Query(100, ge=1, le=500),
) -> OrderSupplierOrders:
    """The supplier orders of an order (with its lines no supplier ships), or those in a
    status, oldest first (``?status=needs_attention``: what waits for an operator)."""
    if order_id is None and status is None:
        raise ValidationFailed("give order_id, status or both")
    async with rt.db.sessions() as session:
        shops = who.shop_ids()
        rows = await listed(session, order_id, status, limit, shops)
        lines = await unrouted(session, order_id, shops) if order_id is not None else []
        return OrderSupplierOrders(
            supplier_orders=[SupplierOrderOut.model_validate(s) for s in rows],
            unrouted_lines=[UnroutedOut.model_validate(u) for u in lines],
        )


@router.get("/{supplier_order_id}", response_model=SupplierOrderOut)
async def read(supplier_order_id: uuid.UUID, rt: Runtime, _: Operator) -> SupplierOrderOut:
    async with rt.db.sessions() as session:
        row = await session.get(SupplierOrder, supplier_order_id)
        if row is None:
            raise NotFound(f"no supplier order {supplier_order_id}")
        out = SupplierOrderOut.model_validate(row)
        out.timeline = [
            TimelineEntry.model_validate(e, from_attributes=True)
            for e in await timeline(session, supplier_order_id)
        ]
        return out


@router.post("/{supplier_order_id}/place", status_code=202, response_model=SupplierOrderOut)
async def place_now(supplier_order_id: uuid.UUID, rt: Runtime, _: Operator) -> SupplierOrderOut:
    """Try a pending supplier order again now (e.g. one parked after the supplier refused
    it, once its mapping or the supplier's credentials are fixed)."""
    async with rt.db.transaction() as session:
        if not await PlacementRepository(session).make_due(supplier_order_id, utcnow()):
            row = await session.get(SupplierOrder, supplier_order_id)
            if row is None:
                raise NotFound(f"no supplier order {supplier_order_id}")
            if row.status == "pending":
                raise PlacementInFlight(
                    "a placement call for this supplier order is out: try again once it"
                    " has answered (see its timeline)"
                )
            raise Conflict("only a pending supplier order can be placed")
        session.info[PLACE_FLAG] = True
        row = await session.get(SupplierOrder, supplier_order_id)
        assert row is not None
        return SupplierOrderOut.model_validate(row)


@router.post(
    "/{supplier_order_id}/resolve",
    response_model=SupplierOrderOut,
    responses=error_responses(
        {
            404: "no such supplier order (not_found)",
            409: "not in needs_attention (not_awaiting_resolution), a call for it is out"
            " (placement_in_flight), or another supplier order has that supplier_ref"
            " (supplier_ref_taken)",
            422: "an unknown outcome, or placed without a supplier_ref (validation_error)",
        }
    ),
)
async def resolve_attention(
    supplier_order_id: uuid.UUID, body: Resolution, rt: Runtime, operator: Operator
) -> SupplierOrderOut:
    """Settle a supplier order in needs_attention: ``{"outcome": "not_placed"}`` places it
    again (no lookup first), ``{"outcome": "placed", "supplier_ref": "X"}`` records it as
    the supplier's order X."""
    async with rt.db.transaction() as session:
        try:
            row, supplier = await PlacementRepository(session).lock(supplier_order_id)
        except NoResultFound:
            raise NotFound(f"no supplier order {supplier_order_id}") from None
        await resolve(
            session,
            rt.outbox,
            row,
            supplier,
            body,
            operator.actor,
            sync_seconds=config_of(rt).supplier_sync_seconds,
        )
        await session.flush()
        return SupplierOrderOut.model_validate(row)
