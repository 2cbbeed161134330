"""SQL of supplier e-mails."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from supplier_gateway.models import SupplierEmail


class SupplierEmailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_ids(self, ids: Iterable[uuid.UUID]) -> list[SupplierEmail]:
        return list(
            await self.session.scalars(
                sa.select(SupplierEmail).where(SupplierEmail.id.in_(list(ids))).with_for_update()
            )
        )

    async def for_supplier_order(self, supplier_order_id: uuid.UUID) -> SupplierEmail | None:
        return await self.session.scalar(
            sa.select(SupplierEmail).where(SupplierEmail.supplier_order_id == supplier_order_id)
        )
