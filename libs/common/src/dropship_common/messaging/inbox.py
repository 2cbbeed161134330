"""Inbox: the ids of messages a consumer already applied, written in the same
transaction as the effects, so a redelivered message is acked and skipped."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow


class Inbox:
    def __init__(self, table: sa.Table, consumer: str) -> None:
        self.table = table
        self.consumer = consumer

    async def seen(self, session: AsyncSession, message_id: uuid.UUID) -> bool:
        t = self.table
        found = await session.scalar(
            sa.select(sa.literal(1)).where(
                t.c.message_id == message_id, t.c.consumer == self.consumer
            )
        )
        return found is not None

    async def record(self, session: AsyncSession, message_id: uuid.UUID, type_: str) -> None:
        """Insert the id; a concurrent duplicate fails the transaction (then it is retried
        and skipped by :meth:`seen`)."""
        await session.execute(
            sa.insert(self.table).values(
                message_id=message_id, consumer=self.consumer, type=type_, processed_at=utcnow()
            )
        )
