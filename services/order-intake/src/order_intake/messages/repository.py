"""SQL of buyer messages (queued by :mod:`.service`, sent by :mod:`.mailer`)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dropship_common.repository import Repository
from order_intake.models import BuyerMessage


class BuyerMessageRepository(Repository[BuyerMessage]):
    model = BuyerMessage

    async def queued(self, order_id: uuid.UUID, kind: str, dedupe_key: str) -> bool:
        """Whether this message was queued for the order already (never sent twice)."""
        found = await self.session.scalar(
            sa.select(sa.literal(1)).where(
                BuyerMessage.order_id == order_id,
                BuyerMessage.kind == kind,
                BuyerMessage.dedupe_key == dedupe_key,
            )
        )
        return bool(found)

    async def delete_of_orders(self, order_ids: list[uuid.UUID]) -> None:
        await self.session.execute(
            sa.delete(BuyerMessage).where(BuyerMessage.order_id.in_(order_ids))
        )
