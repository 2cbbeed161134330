"""SQL of supplier orders that every feature shares: an order's supplier orders, one of
a supplier's own, one by the supplier's reference (locked: ``FOR UPDATE``), the lists
the API and the portal show, timelines, unrouted lines."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dropship_common.repository import Repository
from supplier_gateway.domain.supplier_order import OPEN, Status
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent, UnroutedLine


class SupplierOrderRepository(Repository[SupplierOrder]):
    model = SupplierOrder

    async def of_order(self, order_id: uuid.UUID) -> list[SupplierOrder]:
        """Every supplier order of an order, locked in id order."""
        query = self.select().where(SupplierOrder.order_id == order_id).order_by(SupplierOrder.id)
        return await self.all(query, for_update=True)

    async def for_supplier(
        self, supplier_id: uuid.UUID, supplier_order_id: uuid.UUID, *, lock: bool = True
    ) -> SupplierOrder | None:
        """A supplier order of this supplier (another supplier's is None)."""
        query = self.select().where(
            SupplierOrder.id == supplier_order_id, SupplierOrder.supplier_id == supplier_id
        )
        return await self.one(query, for_update=lock)

    async def by_supplier_ref(self, supplier_id: uuid.UUID, ref: str) -> SupplierOrder | None:
        query = self.select().where(
            SupplierOrder.supplier_id == supplier_id, SupplierOrder.supplier_ref == ref
        )
        return await self.one(query, for_update=True)

    async def open_of_supplier(self, supplier_id: uuid.UUID) -> list[SupplierOrder]:
        """What a supplier still has to act on, oldest first (the portal's list)."""
        query = (
            self.select()
            .where(
                SupplierOrder.supplier_id == supplier_id,
                SupplierOrder.status.in_([s.value for s in OPEN]),
            )
            .order_by(SupplierOrder.created_at)
        )
        return await self.all(query)

    async def search(
        self,
        order_id: uuid.UUID | None,
        status: Status | None,
        limit: int | None,
        shops: frozenset[uuid.UUID] | None = None,
    ) -> list[SupplierOrder]:
        """Supplier orders of an order and/or in a status, oldest first; only of
        ``shops`` when given (an operator key limited to shops)."""
        query = self.select().order_by(SupplierOrder.created_at, SupplierOrder.id)
        if shops is not None:
            query = query.where(SupplierOrder.shop_id.in_(shops))
        if order_id is not None:
            query = query.where(SupplierOrder.order_id == order_id)
        if status is not None:
            query = query.where(SupplierOrder.status == status.value)
        return await self.all(query.limit(limit))

    async def shop_of(self, supplier_order_id: uuid.UUID) -> uuid.UUID | None:
        shop: uuid.UUID | None = await self.session.scalar(
            sa.select(SupplierOrder.shop_id).where(SupplierOrder.id == supplier_order_id)
        )
        return shop

    async def timeline(self, supplier_order_id: uuid.UUID) -> list[SupplierOrderEvent]:
        return list(
            await self.session.scalars(
                sa.select(SupplierOrderEvent)
                .where(SupplierOrderEvent.supplier_order_id == supplier_order_id)
                .order_by(SupplierOrderEvent.id)
            )
        )

    async def unrouted(
        self, order_id: uuid.UUID, shops: frozenset[uuid.UUID] | None = None
    ) -> list[UnroutedLine]:
        """The order's lines no active supplier is mapped to."""
        query = sa.select(UnroutedLine).where(UnroutedLine.order_id == order_id)
        if shops is not None:
            query = query.where(UnroutedLine.shop_id.in_(shops))
        return list(await self.session.scalars(query))
