"""The rules sweep: parcels whose ``review_at`` has come (an index scan on
``ix_parcels_review_at``), claimed with SKIP LOCKED, run through the follow-up rules."""

from __future__ import annotations

import datetime as dt

from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import every
from logistics.config import config_of
from logistics.parcels.repository import ParcelRepository
from logistics.parcels.service import review_parcel

BATCH = 500


async def review_due(runtime: ServiceRuntime, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts: dict[str, int] = {"reviewed": 0}
    while True:
        async with runtime.db.transaction() as session:
            parcels = await ParcelRepository(session).claim_review(now, BATCH)
            for parcel in parcels:
                for due in await review_parcel(session, runtime.outbox, parcel, now, "rules"):
                    counts[due.value] = counts.get(due.value, 0) + 1
        counts["reviewed"] += len(parcels)
        if len(parcels) < BATCH:
            return counts


async def rules_worker(runtime: ServiceRuntime) -> None:
    await every(
        "parcel_rules", config_of(runtime).rules_interval_seconds, lambda: review_due(runtime)
    )
