"""Our own API for custom storefronts: the JSON body of ``POST /v1/orders``.

Unlike the Shopify / WooCommerce models this one is strict (``extra="forbid"``): we define
the contract, so a typo in a field name is an error the sender should see, not data we lose.
Address completeness is *not* enforced here: an incomplete address is accepted and put on
hold by :func:`order_intake.domain.validation.check_order`, like any other storefront's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from order_intake.domain.order import (
    Address,
    Buyer,
    CanonicalOrder,
    CurrencyCode,
    OrderLine,
    PaymentStatus,
    Platform,
    Wish,
)
from order_intake.storefronts import Money, clean, clean_text, load_json, to_utc, validate_payload
from order_intake.storefronts.bounds import ensure_fits

__all__ = [
    "CustomAddressIn",
    "CustomBuyerIn",
    "CustomLineIn",
    "CustomOrderIn",
    "WishIn",
    "parse_order",
    "to_canonical",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

# bounded by what the database holds: Numeric(18, 4) and 32-bit integers
NonNegativeMoney = Annotated[Money, Field(ge=0, lt=10**13, allow_inf_nan=False)]
Text = Annotated[str, Field(max_length=1000)]
ShortText = Annotated[str, Field(max_length=255)]


def _upper(value: str) -> str:
    return value.upper()


class WishIn(BaseModel):
    model_config = _STRICT

    name: Annotated[str, Field(min_length=1, max_length=255)]
    value: Text


class CustomAddressIn(BaseModel):
    model_config = _STRICT

    name: ShortText | None = None
    company: ShortText | None = None
    line1: ShortText | None = None
    line2: ShortText | None = None
    city: ShortText | None = None
    province: ShortText | None = None
    province_code: ShortText | None = None
    postal_code: Annotated[str, Field(max_length=32)] | None = None
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(_upper)] | None = (
        None
    )
    country: ShortText | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None


class CustomBuyerIn(BaseModel):
    model_config = _STRICT

    external_id: ShortText | None = None
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    name: ShortText | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    language: Annotated[str, Field(max_length=35)] | None = None


class CustomLineIn(BaseModel):
    model_config = _STRICT

    external_id: ShortText | None = None
    sku: Annotated[str, Field(min_length=1, max_length=255)]
    title: ShortText | None = None  # defaults to the SKU
    variant_title: ShortText | None = None
    external_product_id: ShortText | None = None
    external_variant_id: ShortText | None = None
    quantity: Annotated[int, Field(gt=0, le=1_000_000, strict=True)]
    unit_price: NonNegativeMoney
    grams: Annotated[int, Field(ge=0, le=10**9, strict=True)] | None = None
    requires_shipping: bool = True
    properties: list[WishIn] = Field(default_factory=list, max_length=100)


class CustomOrderIn(BaseModel):
    """Body of ``POST /v1/orders``. ``placed_at`` / ``updated_at`` default to the ``now`` the
    caller passes to :func:`to_canonical` (this module never reads the clock)."""

    model_config = _STRICT

    external_id: Annotated[str, Field(min_length=1, max_length=255)]
    number: ShortText | None = None
    currency: CurrencyCode
    lines: list[CustomLineIn] = Field(min_length=1, max_length=500)
    shipping_address: CustomAddressIn
    buyer: CustomBuyerIn
    billing_address: CustomAddressIn | None = None
    shipping_method: ShortText | None = None
    shipping_price: NonNegativeMoney | None = None
    total_tax: NonNegativeMoney | None = None
    total_price: NonNegativeMoney | None = None
    note: Annotated[str, Field(max_length=5000)] | None = None
    note_attributes: list[WishIn] = Field(default_factory=list, max_length=100)
    payment_status: PaymentStatus = PaymentStatus.PAID
    placed_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    test: bool = False


def _address(addr: CustomAddressIn | None) -> Address | None:
    if addr is None:
        return None
    return Address(
        name=clean(addr.name),
        company=clean(addr.company),
        line1=clean(addr.line1),
        line2=clean(addr.line2),
        city=clean(addr.city),
        province=clean(addr.province),
        province_code=clean(addr.province_code),
        postal_code=clean(addr.postal_code),
        country_code=clean(addr.country_code),
        country=clean(addr.country),
        phone=clean(addr.phone),
    )


def _wishes(items: list[WishIn]) -> tuple[Wish, ...]:
    return tuple(Wish(name=w.name, value=w.value) for w in items)


def to_canonical(order: CustomOrderIn, now: dt.datetime) -> CanonicalOrder:
    """A validated custom order -> CanonicalOrder.

    ``now`` (timezone-aware) stands in for a missing ``placed_at``; a missing ``updated_at``
    is ``placed_at``. ``total_price`` defaults to lines + shipping + tax."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    placed_at = to_utc(order.placed_at or now)
    updated_at = to_utc(order.updated_at) if order.updated_at else placed_at
    lines = tuple(
        OrderLine(
            external_id=line.external_id or str(index),
            sku=line.sku,
            external_product_id=line.external_product_id,
            external_variant_id=line.external_variant_id,
            title=line.title or line.sku,
            variant_title=line.variant_title,
            quantity=line.quantity,
            unit_price=line.unit_price,
            grams=line.grams,
            requires_shipping=line.requires_shipping,
            properties=_wishes(line.properties),
        )
        for index, line in enumerate(order.lines)
    )
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    total = order.total_price
    if total is None:
        total = (
            subtotal + (order.shipping_price or Decimal("0")) + (order.total_tax or Decimal("0"))
        )
    shipping = _address(order.shipping_address)
    return CanonicalOrder(
        platform=Platform.CUSTOM,
        external_id=order.external_id,
        number=order.number or order.external_id,
        currency=order.currency,
        total_price=total,
        subtotal_price=subtotal,
        total_tax=order.total_tax,
        shipping_price=order.shipping_price,
        shipping_method=order.shipping_method,
        payment_status=order.payment_status,
        buyer=Buyer(
            external_id=order.buyer.external_id,
            email=clean(order.buyer.email),
            name=clean(order.buyer.name) or (shipping.name if shipping else None),
            phone=clean(order.buyer.phone) or (shipping.phone if shipping else None),
            language=order.buyer.language,
        ),
        shipping_address=shipping,
        billing_address=_address(order.billing_address),
        lines=lines,
        note=clean_text(order.note),
        note_attributes=_wishes(order.note_attributes),
        placed_at=placed_at,
        source_updated_at=updated_at,
        test=order.test,
    )


def parse_order(raw: bytes | str, now: dt.datetime) -> CanonicalOrder:
    """Request body -> CanonicalOrder. Raises :class:`~order_intake.storefronts.InvalidPayload`."""
    return ensure_fits(to_canonical(validate_payload(CustomOrderIn, load_json(raw)), now))
