"""Operators' view of webhook deliveries (failed ones can be retried) and of Shopify's
compliance requests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dropship_common.db import utcnow
from dropship_common.deps import Admin, Operator, Runtime
from dropship_common.errors import Conflict, NotFound
from order_intake.tenancy import shops_filter
from order_intake.webhooks.repository import WEBHOOK_FLAG, ComplianceRepository, DeliveryRepository

router = APIRouter(tags=["webhooks"])


class DeliveryOut(BaseModel):
    id: uuid.UUID
    platform: str
    shop_id: uuid.UUID
    delivery_id: str
    topic: str
    status: str
    attempts: int
    last_error: str | None
    order_id: uuid.UUID | None
    received_at: dt.datetime
    processed_at: dt.datetime | None


class ComplianceOut(BaseModel):
    id: uuid.UUID
    shop_id: uuid.UUID
    topic: str
    customer_external_id: str | None
    order_external_ids: list[str]
    orders_affected: int
    received_at: dt.datetime


@router.get("/v1/webhook-deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    rt: Runtime,
    who: Operator,
    status: Literal["pending", "confirming", "processed", "failed"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[DeliveryOut]:
    async with rt.db.sessions() as session:
        rows = await DeliveryRepository(session).recent(status, limit, shops_filter(who))
        return [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/v1/webhook-deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_delivery(delivery_id: uuid.UUID, rt: Runtime, _: Admin) -> DeliveryOut:
    async with rt.db.transaction() as session:
        row = await DeliveryRepository(session).get(delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        if row.status != "failed":
            raise Conflict("only a failed delivery can be retried")
        row.status, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
        session.info[WEBHOOK_FLAG] = True
        await session.flush()
        return DeliveryOut.model_validate(row, from_attributes=True)


@router.get("/v1/compliance-requests", response_model=list[ComplianceOut])
async def list_compliance(
    rt: Runtime, _: Admin, limit: int = Query(100, ge=1, le=1000)
) -> list[ComplianceOut]:
    async with rt.db.sessions() as session:
        rows = await ComplianceRepository(session).recent(limit)
        return [ComplianceOut.model_validate(r, from_attributes=True) for r in rows]
