"""Product API shapes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ProductIn(BaseModel):
    """A SKU of the shop; ``external_product_id`` (+ variant) identifies lines that
    a storefront sends without a SKU (WooCommerce products often have none)."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(default=None, min_length=1, max_length=255)
    external_product_id: str | None = Field(default=None, max_length=64)
    external_variant_id: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _identified(self) -> ProductIn:
        if not self.sku and not self.external_product_id:
            raise ValueError("a product needs a sku or an external_product_id")
        return self


class ProductsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: uuid.UUID
    products: list[ProductIn] = Field(min_length=1, max_length=5000)


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    shop_id: uuid.UUID
    sku: str | None
    external_product_id: str | None
    external_variant_id: str | None
    title: str | None


class ImportResult(BaseModel):
    created: int
    updated: int
