"""SQL of products."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from order_intake.models import Product


def product_key(external_product_id: str, external_variant_id: str | None) -> str:
    """How a line without SKU is matched: ``<product id>:<variant id or ''>``."""
    return f"{external_product_id}:{external_variant_id or ''}"


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def known_keys(
        self, shop_id: uuid.UUID, skus: Iterable[str], product_ids: Iterable[str]
    ) -> set[str]:
        """The SKUs and product keys among those asked for that the shop has."""
        skus, product_ids = set(skus), set(product_ids)
        if not skus and not product_ids:
            return set()
        rows = await self.session.execute(
            sa.select(Product.sku, Product.external_product_id, Product.external_variant_id).where(
                Product.shop_id == shop_id,
                sa.or_(Product.sku.in_(skus), Product.external_product_id.in_(product_ids)),
            )
        )
        keys: set[str] = set()
        for sku, pid, vid in rows:
            if sku:
                keys.add(sku)
            if pid:
                keys.add(product_key(pid, vid))
                if vid is None:
                    keys.add(product_key(pid, None))
        return keys

    async def by_sku(self, shop_id: uuid.UUID, skus: Iterable[str]) -> dict[str, Product]:
        rows = await self.session.scalars(
            sa.select(Product).where(Product.shop_id == shop_id, Product.sku.in_(set(skus)))
        )
        return {p.sku: p for p in rows if p.sku}

    async def list(self, shop_id: uuid.UUID, limit: int, offset: int) -> list[Product]:
        return list(
            await self.session.scalars(
                sa.select(Product)
                .where(Product.shop_id == shop_id)
                .order_by(Product.sku, Product.id)
                .limit(limit)
                .offset(offset)
            )
        )

    def add(self, product: Product) -> None:
        self.session.add(product)
