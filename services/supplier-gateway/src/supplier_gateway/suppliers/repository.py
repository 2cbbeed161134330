"""SQL of suppliers."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from supplier_gateway.domain.scorecard import OrderFacts
from supplier_gateway.models import Supplier, SupplierOrder, SupplierToken


class SupplierRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, supplier_id: uuid.UUID) -> Supplier | None:
        return await self.session.get(Supplier, supplier_id)

    async def by_name(self, name: str) -> Supplier | None:
        return await self.session.scalar(sa.select(Supplier).where(Supplier.name == name))

    async def by_names(self, names: set[str]) -> dict[str, Supplier]:
        rows = await self.session.scalars(sa.select(Supplier).where(Supplier.name.in_(names)))
        return {s.name: s for s in rows}

    async def all(self) -> list[Supplier]:
        return list(await self.session.scalars(sa.select(Supplier).order_by(Supplier.name)))

    async def order_facts(self, supplier_id: uuid.UUID) -> list[OrderFacts]:
        rows = await self.session.execute(
            sa.select(
                SupplierOrder.status,
                SupplierOrder.placed_at,
                SupplierOrder.shipped_at,
                SupplierOrder.ship_by,
                SupplierOrder.reject_reason,
            ).where(SupplierOrder.supplier_id == supplier_id)
        )
        return [OrderFacts(*r) for r in rows]

    def add(self, supplier: Supplier) -> None:
        self.session.add(supplier)

    async def token(self, supplier_id: uuid.UUID, *, lock: bool = False) -> SupplierToken | None:
        query = sa.select(SupplierToken).where(SupplierToken.supplier_id == supplier_id)
        return await self.session.scalar(query.with_for_update() if lock else query)
