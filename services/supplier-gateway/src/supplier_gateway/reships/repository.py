"""SQL of reships: the once-per-case claim, the originals a reship can replace."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dropship_common.db import insert_ignore, utcnow
from dropship_common.repository import Repository
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.models import Reship, SupplierOrder


class ReshipRepository(Repository[Reship]):
    model = Reship

    async def claim_case(
        self,
        case_id: uuid.UUID,
        order_id: uuid.UUID,
        original: uuid.UUID | None,
        attempt: int = 1,
    ) -> bool:
        """True for the first request of a case, and for one of a later ``attempt``
        after the case's reship failed (the agent approved the case again: it is tried
        anew); False for any other (a redelivery, or a delivery racing it: PostgreSQL
        makes it wait for the first one's commit)."""
        now = utcnow()
        result = await self.session.execute(
            insert_ignore(Reship.__table__, self.dialect)
            .values(
                case_id=case_id,
                order_id=order_id,
                original_supplier_order_id=original,
                status="open",
                attempt=attempt,
                created_at=now,
                updated_at=now,
            )
            .returning(Reship.__table__.c.case_id)
        )
        if result.first() is not None:
            return True
        earlier = await self.locked(case_id)
        if earlier is None or earlier.status != "failed" or attempt <= earlier.attempt:
            return False
        earlier.status, earlier.code, earlier.message = "open", None, None
        earlier.attempt = attempt
        earlier.original_supplier_order_id, earlier.updated_at = original, now
        return True

    async def locked(self, case_id: uuid.UUID) -> Reship | None:
        return await self.one(self.select().where(Reship.case_id == case_id), for_update=True)

    async def originals_of(self, order_id: uuid.UUID) -> list[SupplierOrder]:
        """The order's own supplier orders (not reships) that were not rejected, oldest
        first."""
        return list(
            await self.session.scalars(
                sa.select(SupplierOrder)
                .where(
                    SupplierOrder.order_id == order_id,
                    SupplierOrder.case_id.is_(None),
                    SupplierOrder.status != Status.REJECTED.value,
                )
                .order_by(SupplierOrder.created_at, SupplierOrder.id)
            )
        )
