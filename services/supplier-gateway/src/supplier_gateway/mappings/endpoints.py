"""``/v1/mappings``: one by one or by CSV import, and the route a SKU takes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from dropship_common.csvimport import decode, parse_rows
from dropship_common.deps import Operator, Runtime
from supplier_gateway.mappings.repository import MappingRepository
from supplier_gateway.mappings.schemas import (
    CSV_COLUMNS,
    CSV_REQUIRED,
    ImportResult,
    MappingCsvRow,
    MappingOut,
    MappingsCreate,
)
from supplier_gateway.mappings.service import route, rows_to_mappings, upsert_mappings
from supplier_gateway.suppliers.schemas import SupplierOut
from supplier_gateway.suppliers.service import supplier_out
from supplier_gateway.tenancy import require_shop, shop_scope

router = APIRouter(prefix="/v1/mappings", tags=["mappings"], dependencies=[Depends(shop_scope)])


@router.post("", status_code=201, response_model=list[MappingOut])
async def post_mappings(data: MappingsCreate, rt: Runtime, who: Operator) -> list[MappingOut]:
    require_shop(who, data.shop_id)
    async with rt.db.transaction() as session:
        rows, _result = await upsert_mappings(session, data.shop_id, data.mappings)
        return [MappingOut.model_validate(r) for r in rows]


@router.post("/import", response_model=ImportResult)
async def import_mappings(
    request: Request, rt: Runtime, _: Operator, shop_id: uuid.UUID = Query()
) -> ImportResult:
    """Body: CSV (``text/csv``) with a header row; ``supplier`` is the supplier's name."""
    rows = parse_rows(
        decode(await request.body()), MappingCsvRow, columns=CSV_COLUMNS, required=CSV_REQUIRED
    )
    async with rt.db.transaction() as session:
        items = await rows_to_mappings(session, rows)
        _rows, result = await upsert_mappings(session, shop_id, items)
    return result


@router.get("", response_model=list[MappingOut])
async def list_mappings(
    rt: Runtime, _: Operator, shop_id: uuid.UUID = Query(), sku: str | None = None
) -> list[MappingOut]:
    async with rt.db.sessions() as session:
        rows = await MappingRepository(session).of_shop(shop_id, [sku] if sku else None)
        return [MappingOut.model_validate(r) for r in rows]


class Route(BaseModel):
    sku: str
    destination_country: str | None
    suppliers: list[SupplierOut]  # best first; the others are backups


@router.get("/route", response_model=Route)
async def get_route(
    rt: Runtime,
    _: Operator,
    shop_id: uuid.UUID = Query(),
    sku: str = Query(min_length=1),
    destination_country: str | None = Query(default=None, pattern=r"^[A-Z]{2}$"),
) -> Route:
    async with rt.db.sessions() as session:
        suppliers = await route(session, shop_id, sku, destination_country)
        return Route(
            sku=sku,
            destination_country=destination_country,
            suppliers=[supplier_out(s) for s in suppliers],
        )
