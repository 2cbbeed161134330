"""The canonical order: one shape whatever the storefront (Shopify, WooCommerce, our API)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# codes storefronts still send that ISO 4217 (pycountry) retired or never listed: shops
# set up before a currency changed (ANG, HRK, SLL, VEF, …), WooCommerce's Iranian toman
# (IRT) and the offshore yuan (CNH)
STOREFRONT_CURRENCIES = frozenset(
    {"ANG", "BYR", "CNH", "HRK", "IRT", "LTL", "LVL", "MRO", "SLL", "STD", "VEF"}
)


def iso_currency(code: str) -> str:
    """A currency code as storefronts send them: ISO 4217 (upper case), or one of the
    few they still use outside it; a made-up one ("XYZ") is refused. Checked where a
    payload comes in, not on stored orders (a code may be retired after the order)."""
    upper = code.upper()
    if upper not in STOREFRONT_CURRENCIES and pycountry.currencies.get(alpha_3=upper) is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return upper


CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(iso_currency)]


class Platform(enum.StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    CUSTOM = "custom"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # not paid yet (Shopify pending, Woo pending / on-hold)
    AUTHORIZED = "authorized"  # funds reserved, captured later (Shopify manual capture)
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    postal_code: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2 once validated
    country: str | None = None  # as the storefront wrote it
    phone: str | None = None


class Buyer(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    language: str | None = None


class Wish(BaseModel):
    """A buyer's wish: a note attribute or line property (engraving, colour, packaging)."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: str


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str | None = None
    sku: str | None = None
    external_product_id: str | None = None
    external_variant_id: str | None = None
    title: str
    variant_title: str | None = None
    quantity: int = Field(gt=0)
    unit_price: Decimal
    grams: int | None = None
    requires_shipping: bool = True
    properties: tuple[Wish, ...] = ()


class StorefrontRefund(BaseModel):
    """A refund the storefront lists on the order (WooCommerce's ``refunds``)."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    amount: Decimal  # positive: the money given back
    note: str | None = None


# the note attribute (Shopify) / meta key (WooCommerce) of the orders we make for a payment
PAYMENT_MARK = "dropship_payment_for_case"


class CanonicalOrder(BaseModel):
    """What a storefront says an order is, at ``source_updated_at``."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    external_id: str
    number: str | None = None  # what the buyer sees: "#1001", "727"
    currency: str = Field(min_length=3, max_length=3)  # checked on the way in
    total_price: Decimal
    subtotal_price: Decimal | None = None
    total_tax: Decimal | None = None
    shipping_price: Decimal | None = None
    shipping_method: str | None = None
    payment_status: PaymentStatus
    cancelled: bool = False
    cancel_reason: str | None = None
    buyer: Buyer
    shipping_address: Address | None
    billing_address: Address | None = None
    lines: tuple[OrderLine, ...]
    note: str | None = None
    note_attributes: tuple[Wish, ...] = ()
    placed_at: dt.datetime
    source_updated_at: dt.datetime
    test: bool = False
    refunds: tuple[StorefrontRefund, ...] = ()

    @property
    def payment_for_case(self) -> str | None:
        """The aftersales case this order is the payment link of (a dearer exchange's
        difference: nothing to fulfil), from the mark the credit worker puts on it."""
        return next((w.value for w in self.note_attributes if w.name == PAYMENT_MARK), None)
