"""Shop API shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from order_intake.fulfilment.routes import storefront_domain_problem
from order_intake.models import Shop
from order_intake.storefronts import clean
from order_intake.storefronts.bounds import column_length

PlatformName = Literal["shopify", "woocommerce", "custom"]

MAX_PAYMENT_WINDOW_DAYS = 120  # the longest a merchant may wait for a payment
MAX_REMINDERS = 10

# one line, no control characters (see storefronts.clean), at most its column's length
ShopName = Annotated[
    str, Field(max_length=column_length(Shop, "name")), AfterValidator(lambda v: clean(v) or "")
]
WindowDays = Annotated[int, Field(ge=1, le=MAX_PAYMENT_WINDOW_DAYS)]
# a reminder on day d of the window (d days after the order): inside the window
ReminderDays = Annotated[
    list[Annotated[int, Field(ge=1, lt=MAX_PAYMENT_WINDOW_DAYS)]], Field(max_length=MAX_REMINDERS)
]


def reminders_problem(reminders: list[int], window: int) -> str | None:
    """Why ``reminders`` do not fit a payment window of ``window`` days, or None: a
    reminder on or after the window's last day comes when the order is cancelled."""
    late = [d for d in reminders if d >= window]
    if late:
        return f"reminder days {late} are not inside the {window}-day payment window"
    return None


class ShopCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: PlatformName
    domain: str = Field(min_length=3, max_length=255)
    name: ShopName | None = None
    webhook_secret: str = Field(min_length=8, max_length=500)
    admin_credentials: dict[str, Any] | None = None
    payment_window_days: WindowDays = 20
    payment_reminder_days: ReminderDays = Field(default_factory=lambda: [3, 10, 17])
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

    @model_validator(mode="after")
    def _reminders_in_window(self) -> ShopCreate:
        problem = reminders_problem(self.payment_reminder_days, self.payment_window_days)
        if problem:
            raise ValueError(problem)
        return self


class ShopUpdate(BaseModel):
    """``webhook_secret`` rotates: the new one becomes current, the old one stays
    accepted as previous until the next rotation."""

    model_config = ConfigDict(extra="forbid")

    name: ShopName | None = None
    webhook_secret: str | None = Field(default=None, min_length=8, max_length=500)
    admin_credentials: dict[str, Any] | None = None
    payment_window_days: WindowDays | None = None
    payment_reminder_days: ReminderDays | None = None
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
