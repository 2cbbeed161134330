"""SQL of the stored photos' ledger (:mod:`aftersales.evidence.ledger`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from aftersales.models import StoredPhoto
from dropship_common.db import insert_ignore
from dropship_common.repository import Repository


class StoredPhotoRepository(Repository[StoredPhoto]):
    model = StoredPhoto

    async def record(self, keys: Sequence[str], now: dt.datetime) -> None:
        await self.session.execute(
            sa.insert(StoredPhoto), [{"key": k, "stored_at": now} for k in keys]
        )

    async def attach(self, keys: Sequence[str], case_id: uuid.UUID) -> None:
        await self.session.execute(
            sa.update(StoredPhoto).where(StoredPhoto.key.in_(list(keys))).values(case_id=case_id)
        )

    async def delete_after(
        self, keys: Sequence[str], case_id: uuid.UUID, when: dt.datetime
    ) -> None:
        """To be deleted from the store at ``when`` (a photo stored before the ledger
        existed gets its row now)."""
        await self.session.execute(
            insert_ignore(StoredPhoto.__table__, self.dialect),
            [{"key": k, "case_id": case_id, "stored_at": when} for k in keys],
        )
        await self.session.execute(
            sa.update(StoredPhoto).where(StoredPhoto.key.in_(list(keys))).values(delete_after=when)
        )

    async def due(self, now: dt.datetime, orphaned_before: dt.datetime, limit: int) -> list[str]:
        """Keys no case kept (stored before ``orphaned_before``) or due for deletion."""
        orphan = sa.and_(StoredPhoto.case_id.is_(None), StoredPhoto.stored_at < orphaned_before)
        return list(
            await self.session.scalars(
                sa.select(StoredPhoto.key)
                .where(sa.or_(orphan, StoredPhoto.delete_after <= now))
                .order_by(StoredPhoto.stored_at)
                .limit(limit)
            )
        )

    async def forget(self, keys: Sequence[str]) -> None:
        await self.session.execute(sa.delete(StoredPhoto).where(StoredPhoto.key.in_(list(keys))))
