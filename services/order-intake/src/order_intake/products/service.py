"""Products: the SKUs a shop sells (an order with an unknown SKU is held)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.csvimport import parse_rows
from order_intake.models import Product
from order_intake.products.repository import ProductRepository
from order_intake.products.schemas import ImportResult, ProductIn
from order_intake.shops.service import get_shop

CSV_COLUMNS = ("sku", "title", "external_product_id", "external_variant_id")


async def upsert_products(
    session: AsyncSession, shop_id: uuid.UUID, products: list[ProductIn]
) -> tuple[list[Product], ImportResult]:
    await get_shop(session, shop_id)
    repo = ProductRepository(session)
    existing = await repo.by_sku(shop_id, [p.sku for p in products if p.sku])
    created = updated = 0
    out: list[Product] = []
    for p in products:
        row = existing.get(p.sku) if p.sku else None
        if row is None:
            row = Product(
                id=uuid.uuid4(),
                shop_id=shop_id,
                sku=p.sku,
                external_product_id=p.external_product_id,
                external_variant_id=p.external_variant_id,
                title=p.title,
            )
            repo.add(row)
            if p.sku:
                existing[p.sku] = row
            created += 1
        else:
            row.external_product_id = p.external_product_id or row.external_product_id
            row.external_variant_id = p.external_variant_id or row.external_variant_id
            row.title = p.title or row.title
            updated += 1
        out.append(row)
    await session.flush()
    return out, ImportResult(created=created, updated=updated)


def parse_csv(text: str) -> list[ProductIn]:
    """Header row required; columns: sku, title, external_product_id, external_variant_id."""
    return parse_rows(text, ProductIn, columns=CSV_COLUMNS, required=("sku",))
