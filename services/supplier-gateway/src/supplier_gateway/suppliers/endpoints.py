"""``/v1/suppliers``."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from dropship_common.auth import create_api_key, retire_keys
from dropship_common.deps import Admin, Operator, Runtime
from dropship_common.egress import EgressRules
from dropship_common.security import Role
from supplier_gateway.domain.scorecard import scorecard
from supplier_gateway.suppliers.repository import SupplierRepository
from supplier_gateway.suppliers.schemas import SupplierCreate, SupplierOut, SupplierUpdate
from supplier_gateway.suppliers.service import (
    check_supplier_destination,
    create_supplier,
    get_supplier,
    supplier_out,
    update_supplier,
)

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])


@router.post("", status_code=201, response_model=SupplierOut)
async def post_supplier(data: SupplierCreate, rt: Runtime, _: Admin) -> SupplierOut:
    rules = EgressRules.from_settings(rt.settings)
    await check_supplier_destination(data.adapter, data.credentials, rules)
    async with rt.db.transaction() as session:
        return supplier_out(await create_supplier(session, data))


@router.get("", response_model=list[SupplierOut])
async def list_suppliers(rt: Runtime, _: Operator) -> list[SupplierOut]:
    async with rt.db.sessions() as session:
        return [supplier_out(s) for s in await SupplierRepository(session).all()]


@router.get("/{supplier_id}", response_model=SupplierOut)
async def read_supplier(supplier_id: uuid.UUID, rt: Runtime, _: Operator) -> SupplierOut:
    async with rt.db.sessions() as session:
        return supplier_out(await get_supplier(session, supplier_id))


@router.patch("/{supplier_id}", response_model=SupplierOut)
async def patch_supplier(
    supplier_id: uuid.UUID, data: SupplierUpdate, rt: Runtime, _: Admin
) -> SupplierOut:
    if data.credentials:
        async with rt.db.sessions() as session:
            adapter = (await get_supplier(session, supplier_id)).adapter
        rules = EgressRules.from_settings(rt.settings)
        await check_supplier_destination(adapter, data.credentials, rules)
    async with rt.db.transaction() as session:
        return supplier_out(await update_supplier(session, supplier_id, data))


class PortalKey(BaseModel):
    key: str  # shown once: give it to the supplier
    portal_url: str


@router.post("/{supplier_id}/portal-key", status_code=201, response_model=PortalKey)
async def new_portal_key(
    supplier_id: uuid.UUID,
    request: Request,
    rt: Runtime,
    _: Admin,
    grace_minutes: int = Query(
        0, ge=0, le=7 * 24 * 60, description="how long the supplier's old key still works"
    ),
) -> PortalKey:
    """A key for the supplier's portal (only its own orders are visible with it). It
    replaces the supplier's earlier key: revoked at once, or after ``grace_minutes``."""
    async with rt.db.transaction() as session:
        supplier = await get_supplier(session, supplier_id)
        await retire_keys(
            session,
            rt.tables.api_keys,
            role=Role.SUPPLIER,
            subject=str(supplier.id),
            grace=dt.timedelta(minutes=grace_minutes),
        )
        _id, key = await create_api_key(
            session,
            rt.tables.api_keys,
            Role.SUPPLIER,
            subject=str(supplier.id),
            label=f"portal: {supplier.name}",
        )
    return PortalKey(key=key, portal_url=str(request.url_for("login_page")))


class ScorecardOut(BaseModel):
    supplier_id: uuid.UUID
    orders: int
    acceptance_rate: float | None
    on_time_ship_rate: float | None
    median_handling_hours: float | None
    rejections_by_reason: dict[str, int]


@router.get("/{supplier_id}/scorecard", response_model=ScorecardOut)
async def get_scorecard(supplier_id: uuid.UUID, rt: Runtime, _: Operator) -> ScorecardOut:
    async with rt.db.sessions() as session:
        supplier = await get_supplier(session, supplier_id)
        facts = await SupplierRepository(session).order_facts(supplier_id)
    card = scorecard(facts, supplier.holiday_country)
    return ScorecardOut(supplier_id=supplier_id, **card.__dict__)
