"""Events published by order-intake."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from dropship_common.contracts import Event


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class WishV1(_Part):
    name: str
    value: str


class AddressV1(_Part):
    name: str | None
    company: str | None = None
    line1: str | None
    line2: str | None = None
    city: str | None
    province: str | None = None
    province_code: str | None = None
    postal_code: str | None
    country_code: str | None
    phone: str | None = None


class BuyerV1(_Part):
    name: str | None
    email: str | None
    phone: str | None
    language: str


class OrderLineV1(_Part):
    line_id: uuid.UUID
    sku: str | None
    external_product_id: str | None = None
    external_variant_id: str | None = None
    title: str
    variant_title: str | None = None
    quantity: int
    unit_price: Decimal
    grams: int | None = None
    properties: list[WishV1] = []


class OrderConfirmed(Event):
    """The order is paid and valid: everything a supplier needs to ship it."""

    TYPE = "order.confirmed"

    order_id: uuid.UUID
    shop_id: uuid.UUID
    platform: str
    external_id: str
    number: str | None
    currency: str
    total_price: Decimal
    shipping_method: str | None
    buyer: BuyerV1
    shipping_address: AddressV1
    lines: list[OrderLineV1]
    note: str | None
    note_attributes: list[WishV1]
    confirmed_at: dt.datetime
    ship_by: dt.date


class OrderCancelled(Event):
    """Cancelled before any supplier got it (or before it was confirmed)."""

    TYPE = "order.cancelled"

    order_id: uuid.UUID
    shop_id: uuid.UUID
    reason: str
    cancelled_at: dt.datetime


class OrderCancellationRequested(Event):
    """The buyer or the shop wants to cancel an order already handed to a supplier."""

    TYPE = "order.cancellation_requested"

    order_id: uuid.UUID
    shop_id: uuid.UUID
    reason: str
    requested_by: str
    requested_at: dt.datetime


class OrderAddressChanged(Event):
    """The shipping address changed before hand-off; consumers use the new one."""

    TYPE = "order.address_changed"

    order_id: uuid.UUID
    shop_id: uuid.UUID
    shipping_address: AddressV1
    changed_at: dt.datetime


class OrderAddressChangeRequested(Event):
    """The buyer wants another address after hand-off: the supplier must be asked."""

    TYPE = "order.address_change_requested"

    order_id: uuid.UUID
    shop_id: uuid.UUID
    shipping_address: AddressV1
    requested_by: str
    requested_at: dt.datetime


class OrderRedacted(Event):
    """The buyer's personal data was removed from the order at the storefront's request
    (Shopify's compliance webhooks): every service removes what it copied of them."""

    TYPE = "order.redacted"

    order_id: uuid.UUID
    shop_id: uuid.UUID
    redacted_at: dt.datetime
