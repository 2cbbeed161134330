"""What was written to the evidence store, so that nothing stays there unseen: keys are
recorded before their photos are stored and attached to the case in its transaction;
the sweeper deletes what no case kept (after ``photo_orphan_after_seconds``) and the
photos of redacted orders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales.config import config_of
from aftersales.evidence.repository import StoredPhotoRepository
from aftersales.evidence.storage import storage_of
from aftersales.models import Case
from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import every

log = structlog.get_logger(__name__)

SWEEP_BATCH = 200


async def remember(rt: ServiceRuntime, keys: Sequence[str]) -> None:
    """Record the keys (committed) before their photos are stored."""
    if keys:
        async with rt.db.transaction() as session:
            await StoredPhotoRepository(session).record(keys, utcnow())


async def attach(session: AsyncSession, keys: Sequence[str], case_id: uuid.UUID) -> None:
    """In the transaction that writes the case: the photos are the case's."""
    if keys:
        await StoredPhotoRepository(session).attach(keys, case_id)


async def forget_photos(session: AsyncSession, case: Case, now: dt.datetime) -> int:
    """The case's photos (an order redacted): no longer shown, deleted from the store by
    the next sweep. How many."""
    keys = [str(item["key"]) for item in case.evidence if isinstance(item, dict) and "key" in item]
    if keys:
        await StoredPhotoRepository(session).delete_after(keys, case.id, now)
        case.evidence = [_without_key(item, now) for item in case.evidence]
    return len(keys)


def _without_key(item: Any, now: dt.datetime) -> Any:
    if not isinstance(item, dict) or "key" not in item:
        return item
    return {**{k: v for k, v in item.items() if k != "key"}, "removed_at": now.isoformat()}


async def sweep(rt: ServiceRuntime) -> dict[str, int]:
    """Delete from the store what no case kept and what was redacted; each key's row
    goes once its object is gone (a failed delete is tried at the next sweep)."""
    c, now = config_of(rt), utcnow()
    orphaned_before = now - dt.timedelta(seconds=c.photo_orphan_after_seconds)
    async with rt.db.sessions() as session:
        keys = await StoredPhotoRepository(session).due(now, orphaned_before, SWEEP_BATCH)
    storage, gone = storage_of(rt), []
    for key in keys:
        try:
            await storage.delete(key)
        except Exception as exc:  # tried again next time
            log.warning("photo_delete_failed", key=key, error=repr(exc))
            continue
        gone.append(key)
    if gone:
        async with rt.db.transaction() as session:
            await StoredPhotoRepository(session).forget(gone)
    return {"photos_deleted": len(gone)}


async def photo_sweeper(rt: ServiceRuntime) -> None:
    await every("photo_sweep", config_of(rt).photo_sweep_seconds, lambda: sweep(rt))
