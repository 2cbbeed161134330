"""SQL of shops."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from order_intake.models import Shop


class ShopRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, shop_id: uuid.UUID) -> Shop | None:
        return await self.session.get(Shop, shop_id)

    async def by_domain(self, platform: str, domain: str) -> Shop | None:
        return await self.session.scalar(
            sa.select(Shop).where(Shop.platform == platform, Shop.domain == domain.lower())
        )

    async def list(self, only: frozenset[uuid.UUID] | None = None) -> list[Shop]:
        """Every shop, or only those of ``only`` (a key limited to shops)."""
        q = sa.select(Shop).order_by(Shop.created_at)
        if only is not None:
            q = q.where(Shop.id.in_(only))
        return list(await self.session.scalars(q))

    def add(self, shop: Shop) -> None:
        self.session.add(shop)
