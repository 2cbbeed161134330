"""Events a service binds before its features exist are kept, not dropped, so a later
release can process them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import JSONType, UTCDateTime, utcnow
from dropship_common.messaging.envelope import Envelope


def add_parked_events_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "parked_events",
        metadata,
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("envelope", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )


async def park(table: sa.Table, session: AsyncSession, envelope: Envelope) -> None:
    """Keep the whole envelope in ``table`` (in the handler's transaction)."""
    await session.execute(
        sa.insert(table).values(
            message_id=envelope.id,
            type=envelope.type,
            envelope=envelope.model_dump(mode="json"),
            received_at=utcnow(),
        )
    )
