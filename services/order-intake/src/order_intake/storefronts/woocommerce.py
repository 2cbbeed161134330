"""WooCommerce order webhooks (``order.created``, ``order.updated``): the REST v3 order resource.

Dates: ``*_gmt`` fields are UTC written without a zone suffix; the plain ones are in the
site's local time zone, which the payload does not state. We read the ``_gmt`` ones and fall
back to the local ones (taken as UTC, possibly off by the site's offset) only if absent.
"""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from order_intake.domain.order import (
    Address,
    Buyer,
    CanonicalOrder,
    CurrencyCode,
    OrderLine,
    PaymentStatus,
    Platform,
    StorefrontRefund,
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
    Quantity,
    StoreId,
    ensure_fits,
)

__all__ = [
    "WooAddress",
    "WooLineItem",
    "WooMeta",
    "WooOrder",
    "WooShippingLine",
    "parse_order",
    "payment_status",
    "to_canonical",
]

# every text field bounded (a longer one is declared so): see .bounds
_PERMISSIVE = ConfigDict(extra="allow", str_max_length=TEXT_MAX)


class WooMeta(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId | None = None
    key: str
    value: Any = None


class WooAddress(BaseModel):
    model_config = _PERMISSIVE

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None  # billing always; shipping since WooCommerce 5.6


class WooLineItem(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId
    name: str
    product_id: StoreId | None = None
    variation_id: StoreId | None = None
    quantity: Quantity
    price: BoundedMoney  # a JSON number (unit price), e.g. 3 or 12.5
    subtotal: BoundedMoney | None = None
    total: BoundedMoney | None = None
    sku: str | None = None
    meta_data: list[WooMeta] = Field(default_factory=list, max_length=MAX_WISHES)


class WooShippingLine(BaseModel):
    model_config = _PERMISSIVE

    method_title: str | None = None
    method_id: str | None = None
    total: BoundedMoney = Decimal("0")


class WooRefund(BaseModel):
    model_config = _PERMISSIVE

    id: StoreId | None = None
    reason: Annotated[str, Field(max_length=NOTE_MAX)] | None = None  # the admin's words
    total: BoundedMoney | None = None  # negative, e.g. "-5.00"


class WooOrder(BaseModel):
    """The WooCommerce REST v3 order resource (only the fields we read are declared)."""

    model_config = _PERMISSIVE

    id: StoreId
    number: str | None = None
    status: str
    currency: CurrencyCode
    date_created: dt.datetime | None = None
    date_created_gmt: dt.datetime | None = None
    date_modified: dt.datetime | None = None
    date_modified_gmt: dt.datetime | None = None
    date_paid: dt.datetime | None = None
    date_paid_gmt: dt.datetime | None = None
    total: BoundedMoney
    total_tax: BoundedMoney | None = None
    shipping_total: BoundedMoney | None = None
    customer_id: StoreId | None = None
    customer_note: Annotated[str, Field(max_length=NOTE_MAX)] | None = None
    billing: WooAddress | None = None
    shipping: WooAddress | None = None
    line_items: list[WooLineItem] = Field(max_length=MAX_LINES)
    shipping_lines: list[WooShippingLine] = Field(default_factory=list, max_length=MAX_LINES)
    meta_data: list[WooMeta] = Field(default_factory=list, max_length=MAX_WISHES)
    refunds: list[WooRefund] = Field(default_factory=list, max_length=MAX_LINES)

    @model_validator(mode="before")
    @classmethod
    def _number_as_text(cls, data: Any) -> Any:
        # ``number`` is a string in core WooCommerce; sequential-number plugins send ints.
        if isinstance(data, dict) and isinstance(data.get("number"), int):
            data = {**data, "number": str(data["number"])}
        return data

    @model_validator(mode="after")
    def _dates_present(self) -> WooOrder:
        if self.date_created_gmt is None and self.date_created is None:
            raise ValueError("date_created_gmt (or date_created) is required")
        if self.date_modified_gmt is None and self.date_modified is None:
            raise ValueError("date_modified_gmt (or date_modified) is required")
        return self

    @property
    def created_utc(self) -> dt.datetime:
        value = self.date_created_gmt or self.date_created
        assert value is not None  # checked by _dates_present
        return to_utc(value)

    @property
    def modified_utc(self) -> dt.datetime:
        value = self.date_modified_gmt or self.date_modified
        assert value is not None  # checked by _dates_present
        return to_utc(value)

    @property
    def is_paid(self) -> bool:
        return self.date_paid_gmt is not None or self.date_paid is not None


def payment_status(order: WooOrder) -> tuple[PaymentStatus, bool, str | None]:
    """WooCommerce ``status`` -> (payment status, cancelled, cancel reason).

    pending / on-hold / checkout-draft: not paid; failed: FAILED; processing / completed:
    PAID (PARTIALLY_REFUNDED if refunds exist); refunded: REFUNDED; cancelled / trash:
    cancelled, PAID if ``date_paid`` is set else PENDING. Unknown (plugin) statuses:
    PAID if ``date_paid`` is set, else PENDING."""
    status = order.status.strip().lower().removeprefix("wc-")
    paid_or_pending = PaymentStatus.PAID if order.is_paid else PaymentStatus.PENDING
    if status in {"pending", "on-hold", "checkout-draft", "draft", "auto-draft"}:
        return PaymentStatus.PENDING, False, None
    if status == "failed":
        return PaymentStatus.FAILED, False, None
    if status in {"processing", "completed"}:
        partially = any(r.total is not None and r.total != 0 for r in order.refunds)
        return (PaymentStatus.PARTIALLY_REFUNDED if partially else PaymentStatus.PAID), False, None
    if status == "refunded":
        return PaymentStatus.REFUNDED, False, None
    if status == "cancelled":
        return paid_or_pending, True, None
    if status == "trash":
        return paid_or_pending, True, "trash"
    return paid_or_pending, False, None


def _full_name(addr: WooAddress) -> str | None:
    return clean(" ".join(p for p in (clean(addr.first_name), clean(addr.last_name)) if p))


def _address(addr: WooAddress | None, fallback_phone: str | None = None) -> Address | None:
    if addr is None:
        return None
    fields = (
        addr.first_name,
        addr.last_name,
        addr.company,
        addr.address_1,
        addr.address_2,
        addr.city,
        addr.state,
        addr.postcode,
        addr.country,
    )
    if all(clean(v) is None for v in fields):
        return None  # Woo sends all-empty shipping for orders without a shipping address
    country = clean(addr.country)
    code = country.upper() if country and len(country) == 2 and country.isalpha() else None
    return Address(
        name=_full_name(addr),
        company=clean(addr.company),
        line1=clean(addr.address_1),
        line2=clean(addr.address_2),
        city=clean(addr.city),
        province=clean(addr.state),
        province_code=clean(addr.state),
        postal_code=clean(addr.postcode),
        country_code=code,
        country=country,
        phone=clean(addr.phone) or fallback_phone,
    )


def _id(value: int | None) -> str | None:
    return None if not value else str(value)  # Woo uses 0 for "none"


def _line(item: WooLineItem) -> OrderLine | None:
    if item.quantity <= 0:
        return None
    return OrderLine(
        external_id=str(item.id),
        sku=clean(item.sku),
        external_product_id=_id(item.product_id),
        external_variant_id=_id(item.variation_id),
        title=clean(html.unescape(item.name)) or "",  # Woo stores names HTML-escaped ("&ndash;")
        quantity=item.quantity,
        unit_price=item.price,
        properties=wishes((m.key, m.value) for m in item.meta_data),
    )


def to_canonical(order: WooOrder) -> CanonicalOrder:
    """A validated WooCommerce order -> CanonicalOrder."""
    billing = order.billing
    billing_phone = clean(billing.phone) if billing else None
    shipping = _address(order.shipping, fallback_phone=billing_phone)
    payment, cancelled, cancel_reason = payment_status(order)
    lines = tuple(line for line in map(_line, order.line_items) if line is not None)
    line_totals = [item.total for item in order.line_items]
    subtotal = (
        sum((t for t in line_totals if t is not None), Decimal("0"))
        if line_totals and all(t is not None for t in line_totals)
        else None
    )
    shipping_method = clean(order.shipping_lines[0].method_title) if order.shipping_lines else None
    shipping_price = order.shipping_total
    if shipping_price is None and order.shipping_lines:
        shipping_price = sum((s.total for s in order.shipping_lines), Decimal("0"))
    return CanonicalOrder(
        platform=Platform.WOOCOMMERCE,
        external_id=str(order.id),
        number=clean(order.number) or str(order.id),
        currency=order.currency.upper(),
        total_price=order.total,
        subtotal_price=subtotal,
        total_tax=order.total_tax,
        shipping_price=shipping_price,
        shipping_method=shipping_method,
        payment_status=payment,
        cancelled=cancelled,
        cancel_reason=cancel_reason,
        buyer=Buyer(
            external_id=_id(order.customer_id),
            email=clean_email(billing.email) if billing else None,
            name=(_full_name(billing) if billing else None)
            or (shipping.name if shipping else None),
            phone=billing_phone or (shipping.phone if shipping else None),
        ),
        shipping_address=shipping,
        billing_address=_address(billing),
        lines=lines,
        note=clean_text(order.customer_note),
        note_attributes=wishes((m.key, m.value) for m in order.meta_data),
        placed_at=order.created_utc,
        source_updated_at=order.modified_utc,
        refunds=tuple(
            StorefrontRefund(external_id=str(r.id), amount=abs(r.total), note=clean(r.reason))
            for r in order.refunds
            if r.id and r.total is not None
        ),
    )


def parse_order(raw: bytes | str) -> CanonicalOrder:
    """Webhook body -> CanonicalOrder. Raises :class:`~order_intake.storefronts.InvalidPayload`.

    A webhook's creation ping is form-encoded (``webhook_id=N``), not an order: the HTTP
    layer must answer it before calling this (here it is ``invalid_json``)."""
    return ensure_fits(to_canonical(validate_payload(WooOrder, load_json(raw))))
