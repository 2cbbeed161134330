"""SQL of the tracking schedule: due parcels per account, leases, pushes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from dropship_common.db import utcnow
from dropship_common.repository import Repository
from logistics.models import Parcel, TrackingPush


class ScheduleRepository(Repository[Parcel]):
    model = Parcel

    async def due_accounts(self, now: dt.datetime) -> list[uuid.UUID | None]:
        """Accounts (None: parcels without one yet) with parcels due, from the due end
        of ``ix_parcels_next_check_at``."""
        due = (
            sa.select(Parcel.account_id)
            .where(Parcel.next_check_at.is_not(None), Parcel.next_check_at <= now)
            .order_by(Parcel.next_check_at)
            .limit(5000)
            .subquery()
        )
        rows = await self.session.execute(sa.select(due.c.account_id).distinct())
        return [r[0] for r in rows]

    async def lease_due(
        self,
        account_id: uuid.UUID | None,
        now: dt.datetime,
        limit: int,
        lease: dt.timedelta,
        *,
        registered: bool,
    ) -> list[Parcel]:
        """Claim up to ``limit`` due parcels of one account (SKIP LOCKED) and push their
        check past the lease, so another replica leaves them while the call is out; a
        process that dies lets the lease run out and they come due again."""
        account = (
            Parcel.account_id.is_(None) if account_id is None else Parcel.account_id == account_id
        )
        stage = Parcel.registered_at.is_not(None) if registered else Parcel.registered_at.is_(None)
        rows = await self.claim(
            self.select()
            .where(Parcel.next_check_at.is_not(None), Parcel.next_check_at <= now, account, stage)
            .order_by(Parcel.next_check_at),
            limit,
        )
        # the lease runs from the real time (a round's ``now`` may be minutes old, or,
        # in tests, a chosen moment): another replica leaves them until it ends
        until = max(now, utcnow()) + lease
        for row in rows:
            row.next_check_at = until
        return rows

    async def locked(self, ids: Sequence[uuid.UUID]) -> list[Parcel]:
        return await self.get_many(ids, for_update=True)


class PushRepository(Repository[TrackingPush]):
    model = TrackingPush

    async def claim_pending(self, now: dt.datetime, limit: int) -> list[TrackingPush]:
        return await self.claim(
            self.select()
            .where(TrackingPush.processed_at.is_(None), TrackingPush.next_attempt_at <= now)
            .order_by(TrackingPush.received_at),
            limit,
        )
