"""Mappings: which supplier product ships a shop's SKU, at what cost, declared how."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.errors import ValidationFailed
from supplier_gateway.domain.routing import Candidate, ranked
from supplier_gateway.mappings.repository import Key, MappingRepository
from supplier_gateway.mappings.schemas import ImportResult, MappingCsvRow, MappingIn
from supplier_gateway.models import Mapping, Supplier
from supplier_gateway.suppliers.repository import SupplierRepository


async def upsert_mappings(
    session: AsyncSession, shop_id: uuid.UUID, items: Sequence[MappingIn]
) -> tuple[list[Mapping], ImportResult]:
    """Same (SKU, supplier, destination): updated; otherwise created."""
    suppliers = SupplierRepository(session)
    unknown = sorted(
        {str(i.supplier_id) for i in items} - {str(s.id) for s in await suppliers.all()}
    )
    if unknown:
        raise ValidationFailed("unknown suppliers", {"supplier_ids": unknown})
    repo = MappingRepository(session)
    existing: dict[Key, Mapping] = {
        (m.sku, m.supplier_id, m.destination_country): m
        for m in await repo.of_shop(shop_id, [i.sku for i in items])
    }
    created = updated = 0
    out: list[Mapping] = []
    for item in items:
        key = (item.sku, item.supplier_id, item.destination_country)
        row = existing.get(key)
        if row is None:
            row = Mapping(id=uuid.uuid4(), shop_id=shop_id, **item.model_dump())
            repo.add(row)
            existing[key] = row
            created += 1
        else:
            for field, value in item.model_dump().items():
                setattr(row, field, value)
            updated += 1
        out.append(row)
    await session.flush()
    return out, ImportResult(created=created, updated=updated)


async def rows_to_mappings(session: AsyncSession, rows: Sequence[MappingCsvRow]) -> list[MappingIn]:
    """Resolve each row's supplier name; unknown names fail the whole import."""
    by_name = await SupplierRepository(session).by_names({r.supplier for r in rows})
    missing = sorted({r.supplier for r in rows} - set(by_name))
    if missing:
        raise ValidationFailed("unknown suppliers in the CSV", {"suppliers": missing})
    return [
        MappingIn(supplier_id=by_name[r.supplier].id, **r.model_dump(exclude={"supplier"}))
        for r in rows
    ]


async def route(
    session: AsyncSession, shop_id: uuid.UUID, sku: str, country: str | None
) -> list[Supplier]:
    """The suppliers for one SKU and destination, best first."""
    pairs = await MappingRepository(session).candidates(shop_id, [sku])
    suppliers = {s.id: s for _m, s in pairs}
    candidates = [
        Candidate(m.supplier_id, m.priority, m.destination_country, s.active) for m, s in pairs
    ]
    return [suppliers[c.supplier_id] for c in ranked(candidates, country)]
