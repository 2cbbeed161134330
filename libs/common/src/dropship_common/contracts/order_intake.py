"""Events published by order-intake."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dropship_common.contracts import Event

PUBLISHER = "order-intake"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class WishV1(_Part):
    """A name/value pair the buyer or the shop attached (engraving text, gift note)."""

    name: str = Field(description="The property's name as the storefront gave it.")
    value: str = Field(description="Its value.")


class AddressV1(_Part):
    """A postal address as the storefront gave it (any part may be missing)."""

    name: str | None = Field(description="Recipient's full name.")
    company: str | None = Field(default=None, description="Company name, if any.")
    line1: str | None = Field(description="Street and number.")
    line2: str | None = Field(default=None, description="Apartment, suite, floor.")
    city: str | None = Field(description="City or town.")
    province: str | None = Field(default=None, description="State or province name.")
    province_code: str | None = Field(
        default=None, description="State or province code (ISO 3166-2 subdivision)."
    )
    postal_code: str | None = Field(description="Postal or ZIP code.")
    country_code: str | None = Field(description="ISO 3166-1 alpha-2 country code.")
    phone: str | None = Field(default=None, description="Recipient's phone number.")


class BuyerV1(_Part):
    """Who ordered: the contact a supplier or the buyer mails need."""

    name: str | None = Field(description="Buyer's full name.")
    email: str | None = Field(description="Buyer's e-mail address.")
    phone: str | None = Field(description="Buyer's phone number.")
    language: str = Field(description="Language of the buyer's mails (e.g. `en`, `zh`).")


class OrderLineV1(_Part):
    """One line of the order: what the supplier ships."""

    line_id: uuid.UUID = Field(description="The line's id (parcels refer to it).")
    sku: str | None = Field(description="The shop's SKU, mapped to a supplier product.")
    external_product_id: str | None = Field(
        default=None, description="The storefront's product id."
    )
    external_variant_id: str | None = Field(
        default=None, description="The storefront's variant id."
    )
    title: str = Field(description="Product title.")
    variant_title: str | None = Field(default=None, description="Variant title (size, colour).")
    quantity: int = Field(description="Units ordered.")
    unit_price: Decimal = Field(description="Price of one unit, in the order's currency.")
    grams: int | None = Field(default=None, description="Weight of one unit in grams.")
    properties: list[WishV1] = Field(
        default=[], description="The line's custom properties (personalisation)."
    )


class OrderConfirmed(Event):
    """The order is paid and valid: everything a supplier needs to ship it."""

    TYPE = "order.confirmed"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop (storefront) the order came from.")
    platform: str = Field(description="The storefront platform: shopify, woocommerce, custom.")
    external_id: str = Field(description="The storefront's order id.")
    number: str | None = Field(description="The order number the buyer sees (e.g. `#1001`).")
    currency: str = Field(description="ISO 4217 currency code of the prices.")
    total_price: Decimal = Field(description="What the buyer paid in total.")
    shipping_method: str | None = Field(description="The shipping method the buyer chose.")
    buyer: BuyerV1 = Field(description="Who ordered.")
    shipping_address: AddressV1 = Field(description="Where the parcels go.")
    lines: list[OrderLineV1] = Field(description="What to ship.")
    note: str | None = Field(description="The buyer's note to the shop.")
    note_attributes: list[WishV1] = Field(description="The order's custom attributes.")
    confirmed_at: dt.datetime = Field(description="When the order was confirmed.")
    ship_by: dt.date = Field(description="The date the order must be shipped by.")


class OrderCancelled(Event):
    """Cancelled before any supplier got it (or before it was confirmed)."""

    TYPE = "order.cancelled"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    reason: str = Field(description="Why (the storefront's or the operator's reason).")
    cancelled_at: dt.datetime = Field(description="When it was cancelled.")


class OrderCancellationRequested(Event):
    """The buyer or the shop wants to cancel an order already handed to a supplier."""

    TYPE = "order.cancellation_requested"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    reason: str = Field(description="Why the cancellation is wanted.")
    requested_by: str = Field(description="Who asked (the storefront, an operator).")
    requested_at: dt.datetime = Field(description="When it was asked.")


class OrderAddressChanged(Event):
    """The shipping address changed before hand-off; consumers use the new one."""

    TYPE = "order.address_changed"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    shipping_address: AddressV1 = Field(description="The new shipping address.")
    changed_at: dt.datetime = Field(description="When it changed.")


class OrderAddressChangeRequested(Event):
    """The buyer wants another address after hand-off: the supplier must be asked."""

    TYPE = "order.address_change_requested"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    shipping_address: AddressV1 = Field(description="The address the buyer wants.")
    requested_by: str = Field(description="Who asked (the storefront, an operator).")
    requested_at: dt.datetime = Field(description="When it was asked.")


class OrderRedacted(Event):
    """The buyer's personal data was removed from the order at the storefront's request
    (Shopify's compliance webhooks): every service removes what it copied of them."""

    TYPE = "order.redacted"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    redacted_at: dt.datetime = Field(description="When the order was redacted.")


class RefundLineV1(_Part):
    """A line a refund or a return is about."""

    line_id: uuid.UUID | None = Field(
        description="Our order line, when the storefront's line is one we know."
    )
    quantity: int = Field(ge=0, description="Units of it.")


class OrderRefundRecorded(Event):
    """Money went back to the buyer at the storefront: a refund aftersales asked for
    (``case_id`` set), or one made in the Shopify or WooCommerce admin (``case_id``
    none), recorded so that it is never paid twice."""

    TYPE = "order.refund_recorded"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    case_id: uuid.UUID | None = Field(
        description="The aftersales case it carries out; none for the admin's own refund."
    )
    source: Literal["aftersales", "storefront_admin"] = Field(
        description="Who made it: `aftersales` (a case) or `storefront_admin`."
    )
    storefront_refund_id: str = Field(description="The storefront's id of the refund.")
    amount: Decimal = Field(description="The money refunded by this refund, a decimal.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    refunded_total: Decimal | None = Field(
        default=None,
        description="Everything refunded on the order so far, as the storefront says.",
    )
    gateway_refunded: bool = Field(
        default=True,
        description="Whether the payment gateway paid it back; false when only recorded"
        " at the storefront (a WooCommerce gateway without refunds: the merchant pays by"
        " hand, as the order's note says).",
    )
    refunded_at: dt.datetime = Field(description="When the storefront made it.")


class OrderRefundFailed(Event):
    """A refund aftersales asked for could not be made, for good (retries are over or
    pointless): the case goes back to an agent."""

    TYPE = "order.refund_failed"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    case_id: uuid.UUID = Field(description="The case whose refund failed.")
    code: str = Field(
        description="nothing_refundable, over_refundable, currency_mismatch,"
        " gateway_declined, unknown_order or storefront_error."
    )
    message: str = Field(description="The storefront's words, for the agent.")
    refundable: Decimal | None = Field(
        default=None, description="What the storefront says is still refundable."
    )
    failed_at: dt.datetime = Field(description="When it was given up.")


class OrderDiscountCreated(Event):
    """A single-use discount code aftersales asked for exists at the storefront (the
    buyer is told by order-intake)."""

    TYPE = "order.discount_created"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    case_id: uuid.UUID = Field(description="The case it compensates.")
    code: str = Field(description="The code the buyer types at checkout.")
    storefront_discount_id: str = Field(description="The storefront's id of the discount.")
    amount: Decimal = Field(description="Its value, a fixed amount off.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    ends_at: dt.datetime = Field(description="When it can no longer be used.")


class OrderPaymentLinkSent(Event):
    """The payment aftersales asked of the buyer has a link at the storefront (a Shopify
    draft order's invoice, a pending WooCommerce order), e-mailed to the buyer."""

    TYPE = "order.payment_link_sent"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    case_id: uuid.UUID = Field(description="The case that asked for the payment.")
    storefront_ref: str = Field(
        description="The storefront's id of what the buyer pays (draft order, order)."
    )
    amount: Decimal = Field(description="The amount asked, a decimal.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    expires_at: dt.datetime = Field(description="When it is given up if still unpaid.")


class OrderPaymentReceived(Event):
    """The buyer paid what aftersales asked for (the storefront says so)."""

    TYPE = "order.payment_received"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    case_id: uuid.UUID = Field(description="The case that asked for the payment.")
    storefront_ref: str = Field(description="The storefront's id of what the buyer paid.")
    amount: Decimal = Field(description="The amount paid, a decimal.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    paid_at: dt.datetime = Field(description="When we saw it paid.")


class OrderPaymentFailed(Event):
    """No payment link could be made, or the buyer did not pay in time: the case goes
    back to an agent."""

    TYPE = "order.payment_failed"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    case_id: uuid.UUID = Field(description="The case that asked for the payment.")
    code: Literal["not_paid", "storefront_error", "unknown_order"] = Field(
        description="not_paid (the link expired unpaid), storefront_error or unknown_order."
    )
    message: str = Field(description="What happened, for the agent.")
    failed_at: dt.datetime = Field(description="When it was given up.")


class OrderReturnRequested(Event):
    """The buyer asked for a return at the storefront (Shopify's customer accounts:
    the `returns/request` webhook): aftersales opens a case."""

    TYPE = "order.return_requested"

    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID = Field(description="The shop the order came from.")
    storefront_return_id: str = Field(description="The storefront's id of the return.")
    reason: str = Field(
        description="The storefront's return reason (Shopify's ReturnReason: SIZE_TOO_SMALL,"
        " SIZE_TOO_LARGE, WRONG_ITEM, DEFECTIVE, NOT_AS_DESCRIBED, UNWANTED, STYLE, COLOR,"
        " OTHER, UNKNOWN)."
    )
    lines: list[RefundLineV1] = Field(description="The lines and units to return.")
    buyer_note: str | None = Field(default=None, description="The buyer's words.")
    requested_at: dt.datetime = Field(description="When the buyer asked.")
