"""SQL of the shops' sync state (``shop_syncs``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from order_intake.models import Order, Shop, ShopSync

SYNCED_PLATFORMS = ("shopify", "woocommerce")
# a new shop's cursor starts when it is added: nothing to ask for before one run's time
FIRST_SYNC_AFTER = dt.timedelta(minutes=15)


def has_credentials(shop: Shop) -> bool:
    return shop.platform in SYNCED_PLATFORMS and bool(shop.admin_credentials)


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, shop_id: uuid.UUID, *, for_update: bool = False) -> ShopSync | None:
        return await self.session.get(ShopSync, shop_id, with_for_update=for_update)

    async def by_shops(self, shop_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ShopSync]:
        if not shop_ids:
            return {}
        rows = await self.session.scalars(sa.select(ShopSync).where(ShopSync.shop_id.in_(shop_ids)))
        return {row.shop_id: row for row in rows}

    async def ensure(self, shop: Shop, *, check_now: bool = False) -> ShopSync | None:
        """The shop's sync row when it has admin credentials (created on the first call:
        orders are reconciled from now on, not the store's history)."""
        if not has_credentials(shop):
            return None
        now = utcnow()
        row = await self.get(shop.id)
        if row is None:
            row = ShopSync(
                shop_id=shop.id,
                orders_synced_until=now,
                next_sync_at=now + FIRST_SYNC_AFTER,
                orders_recovered=0,
                webhooks_status="unchecked",
                webhooks_problems=[],
                next_webhook_check_at=now,
            )
            self.session.add(row)
        elif check_now:
            row.next_sync_at = row.next_webhook_check_at = now
        await self.session.flush()
        return row

    async def ensure_all(self) -> int:
        """Rows for the shops that gained credentials outside the API (e.g. before
        this table existed)."""
        shops = await self.session.scalars(
            sa.select(Shop)
            .outerjoin(ShopSync, ShopSync.shop_id == Shop.id)
            .where(ShopSync.shop_id.is_(None), Shop.platform.in_(SYNCED_PLATFORMS), Shop.active)
        )
        added = 0
        for shop in shops:
            added += await self.ensure(shop) is not None
        return added

    async def claim_due(self, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[ShopSync]:
        """Due rows of active shops, leased (a worker that dies lets them come back)."""
        rows = list(
            await self.session.scalars(
                sa.select(ShopSync)
                .join(Shop, Shop.id == ShopSync.shop_id)
                .where(ShopSync.next_sync_at <= now, Shop.active)
                .order_by(ShopSync.next_sync_at)
                .limit(limit)
                .with_for_update(skip_locked=True, of=ShopSync)
            )
        )
        for row in rows:
            row.next_sync_at = now + lease
        return rows

    async def stored_versions(
        self, shop_id: uuid.UUID, external_ids: Sequence[str]
    ) -> dict[str, dt.datetime]:
        if not external_ids:
            return {}
        rows = await self.session.execute(
            sa.select(Order.external_id, Order.source_updated_at).where(
                Order.shop_id == shop_id, Order.external_id.in_(external_ids)
            )
        )
        return {external_id: updated for external_id, updated in rows.all()}
