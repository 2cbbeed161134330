"""``/v1/suppliers``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from dropship_common.deps import Admin, Operator, Runtime
from supplier_gateway.suppliers.repository import SupplierRepository
from supplier_gateway.suppliers.schemas import SupplierCreate, SupplierOut, SupplierUpdate
from supplier_gateway.suppliers.service import (
    create_supplier,
    get_supplier,
    supplier_out,
    update_supplier,
)

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])


@router.post("", status_code=201, response_model=SupplierOut)
async def post_supplier(data: SupplierCreate, rt: Runtime, _: Admin) -> SupplierOut:
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
    async with rt.db.transaction() as session:
        return supplier_out(await update_supplier(session, supplier_id, data))
