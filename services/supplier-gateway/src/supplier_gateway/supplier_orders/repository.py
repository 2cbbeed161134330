"""SQL of supplier orders that every feature shares: an order's supplier orders, one of
a supplier's own, one by the supplier's reference; all locked (``FOR UPDATE``)."""

from __future__ import annotations

import uuid

from dropship_common.repository import Repository
from supplier_gateway.models import SupplierOrder


class SupplierOrderRepository(Repository[SupplierOrder]):
    model = SupplierOrder

    async def of_order(self, order_id: uuid.UUID) -> list[SupplierOrder]:
        """Every supplier order of an order, locked in id order."""
        query = self.select().where(SupplierOrder.order_id == order_id).order_by(SupplierOrder.id)
        return await self.all(query, for_update=True)

    async def for_supplier(
        self, supplier_id: uuid.UUID, supplier_order_id: uuid.UUID
    ) -> SupplierOrder | None:
        """A supplier order of this supplier (another supplier's is None), locked."""
        query = self.select().where(
            SupplierOrder.id == supplier_order_id, SupplierOrder.supplier_id == supplier_id
        )
        return await self.one(query, for_update=True)

    async def by_supplier_ref(self, supplier_id: uuid.UUID, ref: str) -> SupplierOrder | None:
        query = self.select().where(
            SupplierOrder.supplier_id == supplier_id, SupplierOrder.supplier_ref == ref
        )
        return await self.one(query, for_update=True)
