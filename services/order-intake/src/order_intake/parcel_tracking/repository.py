"""SQL of parcels' statuses and their storefront milestones."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from dropship_common.db import insert_ignore
from dropship_common.repository import Repository
from order_intake.models import Fulfilment, Milestone, Parcel


class ParcelStatusRepository(Repository[Parcel]):
    model = Parcel

    async def of_order(self, order_id: uuid.UUID, *, for_update: bool = False) -> list[Parcel]:
        return await self.all(
            self.select().where(Parcel.order_id == order_id).order_by(Parcel.created_at),
            for_update=for_update,
        )

    async def fulfilment_of(self, parcel: Parcel) -> Fulfilment | None:
        if parcel.fulfilment_id is None:
            return None
        return await self.session.get(Fulfilment, parcel.fulfilment_id)


class MilestoneRepository(Repository[Milestone]):
    model = Milestone

    async def add_new(self, row: dict[str, Any]) -> bool:
        """Queue a milestone unless that parcel's milestone is queued already."""
        result = await self.session.execute(
            insert_ignore(Milestone.__table__, self.dialect)
            .values(**row)
            .returning(Milestone.__table__.c.id)
        )
        return result.first() is not None

    async def claim_due(self, now: dt.datetime, limit: int) -> list[Milestone]:
        return await self.claim(
            self.select()
            .where(Milestone.status.in_(["pending", "sending"]), Milestone.next_attempt_at <= now)
            .order_by(Milestone.next_attempt_at),
            limit,
        )

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Milestone]:
        return await self.get_many(ids, for_update=True)

    async def of_order(self, order_id: uuid.UUID) -> list[Milestone]:
        return await self.all(
            self.select().where(Milestone.order_id == order_id).order_by(Milestone.created_at)
        )

    async def fulfilment(self, order_id: uuid.UUID, number: str) -> Fulfilment | None:
        parcel = await self.session.scalar(
            sa.select(Parcel).where(Parcel.order_id == order_id, Parcel.tracking_number == number)
        )
        if parcel is None or parcel.fulfilment_id is None:
            return None
        return await self.session.get(Fulfilment, parcel.fulfilment_id)
