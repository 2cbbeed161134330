"""SQL of the storefront credits (refunds, discount codes and payment links aftersales
asked for)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from dropship_common.db import insert_ignore, utcnow
from dropship_common.repository import Repository
from order_intake.models import StorefrontCredit


class CreditRepository(Repository[StorefrontCredit]):
    model = StorefrontCredit

    async def add_new(self, values: dict[str, Any]) -> bool:
        """False when the case has that credit already (a repeated request)."""
        result = await self.session.execute(
            insert_ignore(StorefrontCredit.__table__, self.dialect)
            .values(**values)
            .returning(StorefrontCredit.__table__.c.id)
        )
        return result.first() is not None

    async def add_or_retry(self, values: dict[str, Any]) -> bool:
        """:meth:`add_new`; a credit of the case that failed is tried again when the
        request is of a later round (the agent approved the case once more after the
        failure): pending, with the new amount. False when the case's credit is on its
        way or done, or the request is of a round seen already (a duplicate)."""
        if await self.add_new(values):
            return True
        row = await self.one(
            self.select().where(
                StorefrontCredit.case_id == values["case_id"],
                StorefrontCredit.kind == values["kind"],
            ),
            for_update=True,
        )
        if row is None or row.status != "failed" or values["round"] <= row.round:
            return False
        for name in ("amount", "currency", "reason", "code", "ends_at", "round"):
            if name in values:
                setattr(row, name, values[name])
        row.status, row.attempts = "pending", 0
        row.next_attempt_at, row.last_error = utcnow(), None
        row.external_ref, row.payment_url, row.done_at = None, None, None
        return True

    async def refunded(self, order_id: uuid.UUID) -> Decimal:
        """Refunds of the order made or on their way."""
        total = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(StorefrontCredit.amount), 0)).where(
                StorefrontCredit.order_id == order_id,
                StorefrontCredit.kind == "refund",
                StorefrontCredit.status.in_(("pending", "sending", "done")),
            )
        )
        return Decimal(str(total or 0))

    async def claim_due(self, now: dt.datetime, limit: int) -> list[StorefrontCredit]:
        return await self.claim(
            self.select()
            .where(
                StorefrontCredit.status.in_(["pending", "sending", "open"]),
                StorefrontCredit.next_attempt_at <= now,
            )
            .order_by(StorefrontCredit.next_attempt_at),
            limit,
        )

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[StorefrontCredit]:
        return await self.get_many(ids, for_update=True)
