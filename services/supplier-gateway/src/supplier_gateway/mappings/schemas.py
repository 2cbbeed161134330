"""Mapping API shapes."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

CSV_COLUMNS = (
    "sku",
    "supplier",
    "supplier_product_id",
    "supplier_variant_id",
    "unit_cost",
    "currency",
    "customs_description",
    "hs_code",
    "weight_grams",
    "priority",
    "destination_country",
)
CSV_REQUIRED = (
    "sku",
    "supplier",
    "supplier_product_id",
    "unit_cost",
    "currency",
    "customs_description",
    "weight_grams",
)


class MappingFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=255)
    supplier_product_id: str = Field(min_length=1, max_length=255)
    supplier_variant_id: str | None = Field(default=None, max_length=255)
    unit_cost: Decimal = Field(ge=0, lt=10**13, description="what the supplier charges us")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    customs_description: str = Field(min_length=3, max_length=255)
    hs_code: str | None = Field(default=None, pattern=r"^\d{6,10}$")
    weight_grams: int = Field(gt=0, le=1_000_000)
    priority: int = Field(default=1, ge=1, le=100, description="1 first; higher: backups")
    destination_country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="only for parcels to this country"
    )


class MappingIn(MappingFields):
    supplier_id: uuid.UUID


class MappingCsvRow(MappingFields):
    """A CSV row names its supplier (``supplier``: the supplier's name)."""

    supplier: str = Field(min_length=1, max_length=255)


class MappingsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: uuid.UUID
    mappings: list[MappingIn] = Field(min_length=1, max_length=5000)


class MappingOut(MappingIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID
    shop_id: uuid.UUID


class ImportResult(BaseModel):
    created: int
    updated: int
