"""Events a service binds before its features exist are kept, not dropped, so a later
release can process them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import JSONType, UTCDateTime, utcnow
from dropship_common.messaging.envelope import Envelope

if TYPE_CHECKING:
    from dropship_common.messaging.consumer import MessageHandler


def add_parked_events_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "parked_events",
        metadata,
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("envelope", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )


def park_handlers(table: sa.Table, types: Iterable[str]) -> dict[str, MessageHandler]:
    async def park(session: AsyncSession, envelope: Envelope) -> None:
        await session.execute(
            sa.insert(table).values(
                message_id=envelope.id,
                type=envelope.type,
                envelope=envelope.model_dump(mode="json"),
                received_at=utcnow(),
            )
        )

    return dict.fromkeys(types, park)
