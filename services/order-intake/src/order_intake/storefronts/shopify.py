"""Shopify order webhooks (``orders/create``, ``orders/updated``, ``orders/paid``, ...).

The webhook body is the REST order resource itself. A REST API response wraps it as
``{"order": {...}}``; :func:`parse_order` accepts both so the same code serves webhooks and
reconciliation polling.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from order_intake.domain.order import (
    Address,
    Buyer,
    CanonicalOrder,
    CurrencyCode,
    OrderLine,
    PaymentStatus,
    Platform,
)
from order_intake.storefronts import (
    clean,
    clean_email,
    clean_text,
    load_json,
    to_utc,
    validate_payload,
    wishes,
)
from order_intake.storefronts.bounds import (
    MAX_LINES,
    MAX_WISHES,
    NOTE_MAX,
    TEXT_MAX,
    BoundedMoney,
    Grams,
    Quantity,
    StoreId,
    ensure_fits,
)

__all__ = [
    "FINANCIAL_STATUS",
    "ShopifyAddress",
    "ShopifyCustomer",
    "ShopifyLineItem",
    "ShopifyNameValue",
    "ShopifyOrder",
    "ShopifyShippingLine",
    "parse_order",
    "payment_status",
    "to_canonical",
]

# every text field bounded (a longer one is declared so): see .bounds
_PERMISSIVE = ConfigDict(extra="allow", str_max_length=TEXT_MAX)

FINANCIAL_STATUS: dict[str, PaymentStatus] = {
    "pending": PaymentStatus.PENDING,
    "authorized": PaymentStatus.AUTHORIZED,
    "partially_paid": PaymentStatus.PARTIALLY_PAID,
    "paid": PaymentStatus.PAID,
    "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED,
    "refunded": PaymentStatus.REFUNDED,
    "voided": PaymentStatus.VOIDED,
    # Documented by Shopify: the authorization was not captured before the provider's
    # deadline (some providers also use it for failed processing). Money is not secured.
    "expired": PaymentStatus.FAILED,
}


class ShopifyNameValue(BaseModel):
    """A line ``property`` or an order ``note_attribute``."""

    model_config = _PERMISSIVE

    name: str
    value: Any = None


class ShopifyAddress(BaseModel):
    model_config = _PERMISSIVE

    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class ShopifyCustomer(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class ShopifyLineItem(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId
    title: str
    quantity: Quantity
    # Newer API versions: quantity after order edits / refunds. 0 = line removed.
    current_quantity: Quantity | None = None
    price: BoundedMoney
    sku: str | None = None
    product_id: StoreId | None = None
    variant_id: StoreId | None = None
    variant_title: str | None = None
    name: str | None = None
    grams: Grams | None = None
    requires_shipping: bool = True
    properties: list[ShopifyNameValue] = Field(default_factory=list, max_length=MAX_WISHES)


class ShopifyShippingLine(BaseModel):
    model_config = _PERMISSIVE

    title: str | None = None
    code: str | None = None
    price: BoundedMoney = Decimal("0")


class ShopifyOrder(BaseModel):
    """The Shopify REST order resource (only the fields we read are declared)."""

    model_config = _PERMISSIVE

    id: StoreId
    name: str | None = None  # "#1001": what the buyer sees
    order_number: StoreId | None = None
    email: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    currency: CurrencyCode
    created_at: dt.datetime
    updated_at: dt.datetime
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    financial_status: str | None = None
    test: bool = False
    note: Annotated[str, Field(max_length=NOTE_MAX)] | None = None
    note_attributes: list[ShopifyNameValue] = Field(default_factory=list, max_length=MAX_WISHES)
    total_price: BoundedMoney
    subtotal_price: BoundedMoney | None = None
    total_tax: BoundedMoney | None = None
    customer_locale: str | None = None
    line_items: list[ShopifyLineItem] = Field(max_length=MAX_LINES)
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list, max_length=MAX_LINES)
    shipping_address: ShopifyAddress | None = None
    billing_address: ShopifyAddress | None = None
    customer: ShopifyCustomer | None = None


def payment_status(financial_status: str | None) -> PaymentStatus:
    """Shopify ``financial_status`` -> PaymentStatus; unknown or missing -> PENDING."""
    if financial_status is None:
        return PaymentStatus.PENDING
    return FINANCIAL_STATUS.get(financial_status.strip().lower(), PaymentStatus.PENDING)


def _full_name(first: str | None, last: str | None) -> str | None:
    return clean(" ".join(part for part in (clean(first), clean(last)) if part))


def _address(addr: ShopifyAddress | None) -> Address | None:
    if addr is None:
        return None
    country_code = clean(addr.country_code)
    return Address(
        name=clean(addr.name) or _full_name(addr.first_name, addr.last_name),
        company=clean(addr.company),
        line1=clean(addr.address1),
        line2=clean(addr.address2),
        city=clean(addr.city),
        province=clean(addr.province),
        province_code=clean(addr.province_code),
        postal_code=clean(addr.zip),
        country_code=country_code.upper() if country_code else None,
        country=clean(addr.country),
        phone=clean(addr.phone),
    )


def _line(item: ShopifyLineItem) -> OrderLine | None:
    quantity = item.quantity if item.current_quantity is None else item.current_quantity
    if quantity <= 0:
        return None  # removed by an order edit or fully refunded: nothing to fulfil
    return OrderLine(
        external_id=str(item.id),
        sku=clean(item.sku),
        external_product_id=None if item.product_id is None else str(item.product_id),
        external_variant_id=None if item.variant_id is None else str(item.variant_id),
        title=clean(item.title) or "",
        variant_title=clean(item.variant_title),
        quantity=quantity,
        unit_price=item.price,
        grams=item.grams,
        requires_shipping=item.requires_shipping,
        properties=wishes((p.name, p.value) for p in item.properties),
    )


def to_canonical(order: ShopifyOrder) -> CanonicalOrder:
    """A validated Shopify order -> CanonicalOrder."""
    shipping = _address(order.shipping_address)
    customer = order.customer
    buyer = Buyer(
        external_id=str(customer.id) if customer and customer.id is not None else None,
        email=clean_email(order.email)
        or clean_email(order.contact_email)
        or (clean_email(customer.email) if customer else None),
        name=(_full_name(customer.first_name, customer.last_name) if customer else None)
        or (shipping.name if shipping else None),
        phone=(shipping.phone if shipping else None)
        or (clean(customer.phone) if customer else None)
        or clean(order.phone),
        language=clean(order.customer_locale),
    )
    lines = tuple(line for line in map(_line, order.line_items) if line is not None)
    shipping_method = clean(order.shipping_lines[0].title) if order.shipping_lines else None
    shipping_price = (
        sum((s.price for s in order.shipping_lines), Decimal("0")) if order.shipping_lines else None
    )
    return CanonicalOrder(
        platform=Platform.SHOPIFY,
        external_id=str(order.id),
        number=clean(order.name) or (str(order.order_number) if order.order_number else None),
        currency=order.currency.upper(),
        total_price=order.total_price,
        subtotal_price=order.subtotal_price,
        total_tax=order.total_tax,
        shipping_price=shipping_price,
        shipping_method=shipping_method,
        payment_status=payment_status(order.financial_status),
        cancelled=order.cancelled_at is not None,
        cancel_reason=clean(order.cancel_reason) if order.cancelled_at is not None else None,
        buyer=buyer,
        shipping_address=shipping,
        billing_address=_address(order.billing_address),
        lines=lines,
        note=clean_text(order.note),
        note_attributes=wishes((a.name, a.value) for a in order.note_attributes),
        placed_at=to_utc(order.created_at),
        source_updated_at=to_utc(order.updated_at),
        test=order.test,
    )


def parse_order(raw: bytes | str) -> CanonicalOrder:
    """Webhook body (or REST ``{"order": {...}}``) -> CanonicalOrder.

    Raises :class:`~order_intake.storefronts.InvalidPayload` (``invalid_json`` or
    ``validation_error``)."""
    data = load_json(raw)
    if isinstance(data, dict) and set(data) == {"order"} and isinstance(data["order"], dict):
        data = data["order"]
    return ensure_fits(to_canonical(validate_payload(ShopifyOrder, data)))
