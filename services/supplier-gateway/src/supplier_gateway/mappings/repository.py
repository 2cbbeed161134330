"""SQL of mappings."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from supplier_gateway.models import Mapping, Supplier

Key = tuple[str, uuid.UUID, str | None]  # sku, supplier, destination


class MappingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_shop(self, shop_id: uuid.UUID, skus: Iterable[str] | None = None) -> list[Mapping]:
        q = sa.select(Mapping).where(Mapping.shop_id == shop_id)
        if skus is not None:
            q = q.where(Mapping.sku.in_(set(skus)))
        return list(await self.session.scalars(q.order_by(Mapping.sku, Mapping.priority)))

    async def candidates(
        self, shop_id: uuid.UUID, skus: Iterable[str]
    ) -> list[tuple[Mapping, Supplier]]:
        """The mappings of these SKUs with their suppliers."""
        rows = await self.session.execute(
            sa.select(Mapping, Supplier)
            .join(Supplier, Supplier.id == Mapping.supplier_id)
            .where(Mapping.shop_id == shop_id, Mapping.sku.in_(set(skus)))
        )
        return [(m, s) for m, s in rows]

    def add(self, mapping: Mapping) -> None:
        self.session.add(mapping)
