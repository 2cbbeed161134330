"""SQL of supplier e-mails."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from dropship_common.repository import Repository
from supplier_gateway.models import SupplierEmail


class SupplierEmailRepository(Repository[SupplierEmail]):
    model = SupplierEmail

    async def by_ids(self, ids: Iterable[uuid.UUID]) -> list[SupplierEmail]:
        """Locked, in id order."""
        return await self.get_many(ids, for_update=True)

    async def for_supplier_order(self, supplier_order_id: uuid.UUID) -> SupplierEmail | None:
        """The e-mail announcing the order (not a case's notice about it)."""
        return await self.session.scalar(
            sa.select(SupplierEmail).where(
                SupplierEmail.supplier_order_id == supplier_order_id,
                SupplierEmail.case_id.is_(None),
            )
        )

    async def for_case(self, case_id: uuid.UUID) -> SupplierEmail | None:
        """A case's notice e-mail."""
        return await self.session.scalar(
            sa.select(SupplierEmail).where(SupplierEmail.case_id == case_id)
        )

    async def of_supplier_orders(self, ids: Iterable[uuid.UUID]) -> list[SupplierEmail]:
        return list(
            await self.session.scalars(
                sa.select(SupplierEmail).where(SupplierEmail.supplier_order_id.in_(list(ids)))
            )
        )
