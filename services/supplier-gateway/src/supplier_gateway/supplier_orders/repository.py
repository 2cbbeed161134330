"""SQL of supplier orders that every feature shares: an order's supplier orders, one of
a supplier's own, one by the supplier's reference (locked: ``FOR UPDATE``), the lists
the API and the portal show, timelines, unrouted lines."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from dropship_common.repository import Repository
from supplier_gateway.domain.deadlines import Deadline
from supplier_gateway.domain.supplier_order import OPEN, Status
from supplier_gateway.models import Supplier, SupplierOrder, SupplierOrderEvent, UnroutedLine


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

    async def events_of_kind(
        self, supplier_order_ids: list[uuid.UUID], kind: str
    ) -> list[SupplierOrderEvent]:
        """The orders' timeline entries of one kind, oldest first."""
        return list(
            await self.session.scalars(
                sa.select(SupplierOrderEvent)
                .where(
                    SupplierOrderEvent.supplier_order_id.in_(supplier_order_ids),
                    SupplierOrderEvent.kind == kind,
                )
                .order_by(SupplierOrderEvent.id)
            )
        )

    async def last_events(
        self, supplier_order_id: uuid.UUID, kind: str, count: int
    ) -> list[SupplierOrderEvent]:
        """The last ``count`` timeline entries of one kind, oldest first."""
        newest = await self.session.scalars(
            sa.select(SupplierOrderEvent)
            .where(
                SupplierOrderEvent.supplier_order_id == supplier_order_id,
                SupplierOrderEvent.kind == kind,
            )
            .order_by(SupplierOrderEvent.id.desc())
            .limit(count)
        )
        return list(reversed(list(newest)))

    async def adapters_of(self, rows: list[SupplierOrder]) -> dict[uuid.UUID, str]:
        """The adapter kind of each row's supplier."""
        kinds = await self.session.execute(
            sa.select(Supplier.id, Supplier.adapter).where(
                Supplier.id.in_({r.supplier_id for r in rows})
            )
        )
        return {supplier_id: kind for supplier_id, kind in kinds}

    async def claim_near_ship_by(self, now: dt.datetime) -> list[tuple[SupplierOrder, str]]:
        """Open orders whose ship-by date is today or tomorrow and not yet overdue, with
        their supplier's holiday country; locked, rows another worker holds skipped."""
        rows = await self.session.execute(
            sa.select(SupplierOrder, Supplier.holiday_country)
            .join(Supplier, Supplier.id == SupplierOrder.supplier_id)
            .where(
                SupplierOrder.status.in_([s.value for s in OPEN]),
                SupplierOrder.deadline != Deadline.OVERDUE.value,
                SupplierOrder.ship_by.is_not(None),
                SupplierOrder.ship_by <= now.date() + dt.timedelta(days=1),
            )
            .with_for_update(of=SupplierOrder, skip_locked=True)
        )
        return [(row, country) for row, country in rows.all()]
