"""``GET /v1/orders/{id}/fulfilments`` (parcels and their write-back) and
``POST /v1/fulfilments/{id}/retry`` (an operator fixed what the storefront refused)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from dropship_common.db import utcnow
from dropship_common.deps import Operator, Runtime
from order_intake.errors import FulfilmentNotFound, IllegalFulfilmentState, OrderNotFound
from order_intake.fulfilment.repository import FulfilmentRepository
from order_intake.fulfilment.schemas import (
    FulfilmentOut,
    MilestoneOut,
    OrderFulfilments,
    ParcelOut,
)
from order_intake.fulfilment.service import FULFILMENT_FLAG
from order_intake.models import Order, OrderEvent
from order_intake.parcel_tracking.repository import MilestoneRepository
from order_intake.tenancy import path_scope

router = APIRouter(tags=["fulfilments"], dependencies=[Depends(path_scope)])


@router.get("/v1/orders/{order_id}/fulfilments", response_model=OrderFulfilments)
async def order_fulfilments(order_id: uuid.UUID, rt: Runtime, _: Operator) -> OrderFulfilments:
    async with rt.db.sessions() as session:
        if await session.get(Order, order_id) is None:
            raise OrderNotFound(f"no order {order_id}")
        repo = FulfilmentRepository(session)
        return OrderFulfilments(
            order_id=order_id,
            parcels=[ParcelOut.model_validate(p) for p in await repo.parcels_of(order_id)],
            fulfilments=[FulfilmentOut.model_validate(f) for f in await repo.of_order(order_id)],
            milestones=[
                MilestoneOut.model_validate(m)
                for m in await MilestoneRepository(session).of_order(order_id)
            ],
        )


@router.post("/v1/fulfilments/{fulfilment_id}/retry", response_model=FulfilmentOut)
async def retry_fulfilment(fulfilment_id: uuid.UUID, rt: Runtime, who: Operator) -> FulfilmentOut:
    async with rt.db.transaction() as session:
        fulfilment = await FulfilmentRepository(session).get(fulfilment_id, for_update=True)
        if fulfilment is None:
            raise FulfilmentNotFound(f"no fulfilment {fulfilment_id}")
        if fulfilment.status != "failed":
            raise IllegalFulfilmentState(
                f"only a failed fulfilment is retried (it is {fulfilment.status})"
            )
        fulfilment.status, fulfilment.next_attempt_at = "pending", utcnow()
        session.add(
            OrderEvent(
                order_id=fulfilment.order_id,
                kind="fulfilment_retry_requested",
                details={"fulfilment_id": str(fulfilment.id), "after_error": fulfilment.last_error},
                actor=who.actor,
            )
        )
        session.info[FULFILMENT_FLAG] = True
        out = FulfilmentOut.model_validate(fulfilment)
    return out
