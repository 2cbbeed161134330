"""SQL of supplier notices."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from dropship_common.db import insert_ignore
from dropship_common.repository import Repository
from supplier_gateway.models import Supplier, SupplierNotice


class SupplierNoticeRepository(Repository[SupplierNotice]):
    model = SupplierNotice

    async def insert_once(self, values: dict[str, object]) -> bool:
        """True for a case's first notice; False when the case was told already."""
        result = await self.session.execute(
            insert_ignore(SupplierNotice.__table__, self.dialect)
            .values(**values)
            .returning(SupplierNotice.__table__.c.case_id)
        )
        return result.first() is not None

    async def locked(self, case_id: uuid.UUID) -> SupplierNotice | None:
        query = self.select().where(SupplierNotice.case_id == case_id)
        return await self.one(query, for_update=True)

    async def of_supplier_order(self, supplier_order_id: uuid.UUID) -> list[SupplierNotice]:
        query = (
            self.select()
            .where(SupplierNotice.supplier_order_id == supplier_order_id)
            .order_by(SupplierNotice.created_at)
        )
        return await self.all(query)

    async def claim_due(
        self, now: dt.datetime, limit: int, lease: dt.timedelta
    ) -> list[tuple[SupplierNotice, Supplier]]:
        """Pending http notices due now, locked (others skip them) and leased."""
        rows = (
            await self.session.execute(
                sa.select(SupplierNotice, Supplier)
                .join(Supplier, Supplier.id == SupplierNotice.supplier_id)
                .where(
                    SupplierNotice.status == "pending",
                    SupplierNotice.next_attempt_at <= now,
                )
                .order_by(SupplierNotice.next_attempt_at)
                .limit(limit)
                .with_for_update(of=SupplierNotice, skip_locked=True)
            )
        ).all()
        for notice, _ in rows:
            notice.next_attempt_at = notice.leased_until = now + lease
        return [(n, s) for n, s in rows]
