"""SQL of parcels and storefront fulfilments."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dropship_common.db import insert_ignore
from dropship_common.repository import Repository
from order_intake.models import Fulfilment, Order, Parcel, Shop


class FulfilmentRepository(Repository[Fulfilment]):
    model = Fulfilment

    # --- parcels -------------------------------------------------------------------
    async def add_parcels(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        """Insert the parcels not known yet; returns their tracking numbers (a number
        already recorded for the order is skipped, so a repeated report adds nothing)."""
        if not rows:
            return []
        dialect = self.session.get_bind().dialect.name
        result = await self.session.execute(
            insert_ignore(Parcel.__table__, dialect)
            .values(list(rows))
            .returning(Parcel.__table__.c.tracking_number)
        )
        return [row[0] for row in result]

    async def parcel_lines(self, order_id: uuid.UUID) -> list[list[str]]:
        return [
            list(ids)
            for ids in await self.session.scalars(
                sa.select(Parcel.line_ids).where(Parcel.order_id == order_id)
            )
        ]

    async def link_parcels(
        self, order_id: uuid.UUID, numbers: Sequence[str], fulfilment_id: uuid.UUID
    ) -> None:
        await self.session.execute(
            sa.update(Parcel)
            .where(Parcel.order_id == order_id, Parcel.tracking_number.in_(list(numbers)))
            .values(fulfilment_id=fulfilment_id)
        )

    async def parcels_of(self, order_id: uuid.UUID) -> list[Parcel]:
        return list(
            await self.session.scalars(
                sa.select(Parcel)
                .where(Parcel.order_id == order_id)
                .order_by(Parcel.created_at, Parcel.tracking_number)
            )
        )

    # --- fulfilments ----------------------------------------------------------------
    async def of_order(self, order_id: uuid.UUID) -> list[Fulfilment]:
        return list(
            await self.session.scalars(
                sa.select(Fulfilment)
                .where(Fulfilment.order_id == order_id)
                .order_by(Fulfilment.created_at, Fulfilment.id)
            )
        )

    async def claim_due(self, now: dt.datetime, limit: int) -> list[Fulfilment]:
        """Due fulfilments, and ``sending`` ones whose lease ran out (the worker died
        while sending), locked; another worker skips them."""
        due = (
            self.select()
            .where(
                Fulfilment.status.in_(("pending", "sending")),
                Fulfilment.next_attempt_at <= now,
            )
            .order_by(Fulfilment.next_attempt_at)
        )
        return await self.claim(due, limit)

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Fulfilment]:
        """Locked, in id order."""
        return await self.get_many(ids, for_update=True)

    async def orders(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Order]:
        if not ids:
            return {}
        found = await self.session.scalars(
            sa.select(Order).where(Order.id.in_(list(ids))).options(selectinload(Order.lines))
        )
        return {o.id: o for o in found}

    async def shops(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Shop]:
        if not ids:
            return {}
        found = await self.session.scalars(sa.select(Shop).where(Shop.id.in_(list(ids))))
        return {s.id: s for s in found}
