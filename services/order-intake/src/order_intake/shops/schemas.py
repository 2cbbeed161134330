"""Shop API shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from order_intake.fulfilment.routes import storefront_domain_problem

PlatformName = Literal["shopify", "woocommerce", "custom"]


class ShopCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: PlatformName
    domain: str = Field(min_length=3, max_length=255)
    name: str | None = None
    webhook_secret: str = Field(min_length=8, max_length=500)
    admin_credentials: dict[str, Any] | None = None
    payment_window_days: int = Field(default=20, ge=1, le=120)
    payment_reminder_days: list[int] = Field(default_factory=lambda: [3, 10, 17])
    accept_authorized: bool = True
    buyer_language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    handling_days: int = Field(default=3, ge=1, le=30)
    ship_from_country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        v = v.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if "/" in v or " " in v:
            raise ValueError("a bare host name, e.g. my-shop.myshopify.com")
        return v

    @model_validator(mode="after")
    def _storefront_domain(self) -> ShopCreate:
        problem = storefront_domain_problem(self.platform, self.domain)
        if problem:
            raise ValueError(problem)
        return self


class ShopUpdate(BaseModel):
    """``webhook_secret`` rotates: the new one becomes current, the old one stays
    accepted as previous until the next rotation."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    webhook_secret: str | None = Field(default=None, min_length=8, max_length=500)
    admin_credentials: dict[str, Any] | None = None
    payment_window_days: int | None = Field(default=None, ge=1, le=120)
    payment_reminder_days: list[int] | None = None
    accept_authorized: bool | None = None
    buyer_language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    handling_days: int | None = Field(default=None, ge=1, le=30)
    ship_from_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    active: bool | None = None


class WebhookHealthOut(BaseModel):
    """The last check of the shop's webhook subscriptions at the storefront.
    ``status``: unchecked, ok, repaired (we re-enabled or re-created some), broken
    (missing or disabled and we could not fix it: see ``problems``), unmanaged (not
    checked: ``admin_credentials.manage_webhooks`` is false)."""

    status: str
    problems: list[str]
    checked_at: dt.datetime | None
    next_check_at: dt.datetime


class ReconciliationOut(BaseModel):
    """Orders asked for at the storefront, so that none depends on one webhook."""

    orders_synced_until: dt.datetime
    last_sync_at: dt.datetime | None
    last_sync_error: str | None
    orders_recovered: int  # order versions a webhook did not bring


class ShopOut(BaseModel):
    """Secrets are never returned. ``webhook_health`` and ``reconciliation`` are null
    for a shop without admin credentials (webhooks only)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    domain: str
    name: str | None
    webhook_secrets_count: int
    has_admin_credentials: bool
    payment_window_days: int
    payment_reminder_days: list[int]
    accept_authorized: bool
    buyer_language: str
    handling_days: int
    ship_from_country: str
    active: bool
    webhook_url: str
    webhook_health: WebhookHealthOut | None = None
    reconciliation: ReconciliationOut | None = None
    created_at: dt.datetime
