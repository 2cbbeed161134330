"""``/v1/supplier/orders``: suppliers on our http protocol answer their orders with their
supplier key (role ``supplier``): accept, reject (reason, optional restock date), ship
(carrier, tracking numbers). Another supplier's order is a 404. Repeating an answer
already given (the same tracking numbers, accepting twice) changes nothing."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from dropship_common.auth import Principal, require_role
from dropship_common.deps import Runtime
from dropship_common.errors import Forbidden
from dropship_common.security import Role
from supplier_gateway.domain.notice import supplier_view
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.models import SupplierOrder
from supplier_gateway.supplier_orders import actions
from supplier_gateway.supplier_orders.schemas import Reject, Ship
from supplier_gateway.supplier_orders.supplier_updates import ensure_placed, report_shipped

router = APIRouter(prefix="/v1/supplier/orders", tags=["supplier api"])

SupplierKey = Annotated[Principal, Depends(require_role(Role.SUPPLIER))]


class SupplierOrderView(BaseModel):
    id: uuid.UUID
    status: str
    notice: dict[str, object]
    carrier: str | None
    tracking_numbers: list[str]


def _view(row: SupplierOrder) -> SupplierOrderView:
    return SupplierOrderView(
        id=row.id,
        status=row.status,
        notice=supplier_view(row.notice),
        carrier=row.carrier,
        tracking_numbers=row.tracking_numbers or [],
    )


def _supplier_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.subject or "")
    except ValueError as exc:
        raise Forbidden("this key is not a supplier's") from exc


@router.get("/{supplier_order_id}", response_model=SupplierOrderView)
async def read(supplier_order_id: uuid.UUID, rt: Runtime, who: SupplierKey) -> SupplierOrderView:
    async with rt.db.transaction() as session:
        row = await actions.load_for_supplier(session, supplier_order_id, _supplier_id(who))
        return _view(row)


@router.post("/{supplier_order_id}/accept", response_model=SupplierOrderView)
async def accept(supplier_order_id: uuid.UUID, rt: Runtime, who: SupplierKey) -> SupplierOrderView:
    supplier_id = _supplier_id(who)
    actor = f"supplier:{supplier_id}"
    async with rt.db.transaction() as session:
        row = await actions.load_for_supplier(session, supplier_order_id, supplier_id)
        if row.status != Status.ACCEPTED.value:
            await ensure_placed(session, rt.outbox, row, actor)
            await actions.accept(session, row, actor)
        return _view(row)


@router.post("/{supplier_order_id}/reject", response_model=SupplierOrderView)
async def reject(
    supplier_order_id: uuid.UUID, data: Reject, rt: Runtime, who: SupplierKey
) -> SupplierOrderView:
    supplier_id = _supplier_id(who)
    actor = f"supplier:{supplier_id}"
    async with rt.db.transaction() as session:
        row = await actions.load_for_supplier(session, supplier_order_id, supplier_id)
        if row.status != Status.REJECTED.value:
            await ensure_placed(session, rt.outbox, row, actor)
            await actions.reject(
                session, rt.outbox, row, actor, data.reason, data.note, data.restock_date
            )
        return _view(row)


@router.post("/{supplier_order_id}/ship", response_model=SupplierOrderView)
async def ship(
    supplier_order_id: uuid.UUID, data: Ship, rt: Runtime, who: SupplierKey
) -> SupplierOrderView:
    supplier_id = _supplier_id(who)
    actor = f"supplier:{supplier_id}"
    async with rt.db.transaction() as session:
        row = await actions.load_for_supplier(session, supplier_order_id, supplier_id)
        await report_shipped(session, rt.outbox, row, actor, data.carrier, data.tracking_numbers)
        return _view(row)
