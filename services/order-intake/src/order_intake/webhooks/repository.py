"""SQL of webhook deliveries."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import insert_ignore, utcnow
from order_intake.models import ComplianceRequest, WebhookDelivery

T: sa.Table = WebhookDelivery.__table__  # type: ignore[assignment]
WEBHOOK_FLAG = "webhook_dirty"  # set on a session that stored a delivery to process
CONFIRM_FLAG = "webhook_confirm"  # set on a session that left a delivery to confirm
# a destructive delivery waiting for the storefront's API to confirm it
CONFIRMING = "confirming"


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(
        self, platform: str, shop_id: uuid.UUID, delivery_id: str, topic: str, body: bytes
    ) -> bool:
        """Insert a verified delivery; False if the same delivery was already stored."""
        now = utcnow()
        stmt = insert_ignore(T, self.session.get_bind().dialect.name).values(
            id=uuid.uuid4(),
            platform=platform,
            shop_id=shop_id,
            delivery_id=delivery_id,
            topic=topic,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            received_at=now,
        )
        result = await self.session.execute(stmt)
        stored = bool(getattr(result, "rowcount", 0))
        if stored:
            self.session.info[WEBHOOK_FLAG] = True
        return stored

    async def claim_due(self, limit: int) -> list[WebhookDelivery]:
        return list(
            await self.session.scalars(
                sa.select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow()
                )
                .order_by(WebhookDelivery.received_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    async def due_confirmations(self, limit: int) -> list[WebhookDelivery]:
        """Deliveries waiting for the storefront's confirmation, due now (not locked:
        the storefront is called with no transaction open)."""
        return list(
            await self.session.scalars(
                sa.select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == CONFIRMING,
                    WebhookDelivery.next_attempt_at <= utcnow(),
                )
                .order_by(WebhookDelivery.received_at)
                .limit(limit)
            )
        )

    async def recent(
        self, status: str | None, limit: int, shops: frozenset[uuid.UUID] | None = None
    ) -> list[WebhookDelivery]:
        q = sa.select(WebhookDelivery).order_by(WebhookDelivery.received_at.desc()).limit(limit)
        if status:
            q = q.where(WebhookDelivery.status == status)
        if shops is not None:  # a key limited to these shops
            q = q.where(WebhookDelivery.shop_id.in_(shops))
        return list(await self.session.scalars(q))

    async def by_ids(self, ids: list[uuid.UUID]) -> list[WebhookDelivery]:
        """Fresh from the database (after a rolled-back savepoint), in arrival order."""
        return list(
            await self.session.scalars(
                sa.select(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.received_at)
                .execution_options(populate_existing=True)
            )
        )

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return await self.session.get(WebhookDelivery, delivery_id, with_for_update=True)

    async def forget_bodies(self, order_ids: list[uuid.UUID]) -> None:
        """The stored bodies of the orders' deliveries (they hold personal data)."""
        await self.session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.order_id.in_(order_ids))
            .values(body=None)
        )

    async def count_pending(self) -> int:
        n = await self.session.scalar(
            sa.select(sa.func.count()).select_from(T).where(T.c.status == "pending")
        )
        return int(n or 0)

    async def purge_processed(self, older_than: dt.timedelta) -> None:
        await self.session.execute(
            sa.delete(T).where(T.c.status == "processed", T.c.processed_at < utcnow() - older_than)
        )


class ComplianceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent(self, limit: int) -> list[ComplianceRequest]:
        return list(
            await self.session.scalars(
                sa.select(ComplianceRequest)
                .order_by(ComplianceRequest.received_at.desc())
                .limit(limit)
            )
        )
