"""Inbox: the ids of messages a consumer already applied, written in the same
transaction as the effects, so a redelivered message is acked and skipped."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import insert_ignore, utcnow


class Inbox:
    def __init__(self, table: sa.Table, consumer: str) -> None:
        self.table = table
        self.consumer = consumer

    async def claim(self, session: AsyncSession, message_id: uuid.UUID, type_: str) -> bool:
        """Record the id before the message's effects, in their transaction: True if it
        is new, False if it was applied before (skip it). One statement instead of a
        look-up and an insert; a concurrent duplicate waits on the id's index entry and
        is then found applied (or claims it, if the first one rolled back)."""
        t = self.table
        stmt = (
            insert_ignore(t, session.get_bind().dialect.name)
            .values(
                message_id=message_id, consumer=self.consumer, type=type_, processed_at=utcnow()
            )
            .returning(t.c.message_id)
        )
        return (await session.execute(stmt)).first() is not None
