"""Supplier API shapes. Credentials are write-only: never returned."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AdapterKind = Literal["cjdropshipping", "http", "portal"]


class SupplierCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    adapter: AdapterKind
    credentials: dict[str, Any] | None = None
    handling_days: int = Field(ge=1, le=3, description="business days to ship (1-3)")
    holiday_country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    ship_from_country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    contact_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class SupplierUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    credentials: dict[str, Any] | None = None
    handling_days: int | None = Field(default=None, ge=1, le=3)
    holiday_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    ship_from_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    contact_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    active: bool | None = None


class SupplierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    adapter: str
    has_credentials: bool
    handling_days: int
    holiday_country: str
    ship_from_country: str
    contact_email: str | None
    active: bool
    created_at: dt.datetime
