"""SQL of supplier e-mails."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from supplier_gateway.models import SupplierEmail


class SupplierEmailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due(self, now: dt.datetime, limit: int) -> list[SupplierEmail]:
        """Due e-mails (new, retrying, or claimed by a worker whose lease ran out),
        locked; others skip them."""
        return list(
            await self.session.scalars(
                sa.select(SupplierEmail)
                .where(
                    SupplierEmail.status.in_(("pending", "sending")),
                    SupplierEmail.next_attempt_at <= now,
                )
                .order_by(SupplierEmail.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

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
