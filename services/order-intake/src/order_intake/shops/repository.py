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

    async def list(self) -> list[Shop]:
        return list(await self.session.scalars(sa.select(Shop).order_by(Shop.created_at)))

    def add(self, shop: Shop) -> None:
        self.session.add(shop)
