"""Events published by aftersales: an approved resolution, for the service that carries
it out (a refund or a discount code at the storefront and the buyer's messages by
order-intake, which holds the shop's credentials and the buyer's address; a reship and
the supplier's notice by supplier-gateway). Each carries the case id, which is also the
idempotency key: whoever carries it out does it once per case whatever the deliveries.
The outcomes come back as ``order.refund_recorded`` / ``order.refund_failed`` /
``order.discount_created`` / ``order.payment_received`` / ``order.payment_failed``
and ``supplier.reship_placed`` / ``supplier.reship_failed``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dropship_common.contracts import Event

PUBLISHER = "aftersales"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseLineV1(_Part):
    """A line of the order a resolution is about, and how many of its units."""

    line_id: uuid.UUID = Field(description="The order line.")
    quantity: int = Field(ge=1, description="Units of it.")
    sku: str | None = Field(
        default=None,
        description=(
            "For a reship: the shop's SKU to send instead of the line's own (an"
            " exchange's other size); none sends the line's own SKU."
        ),
    )


class AftersalesRefundRequested(Event):
    """Refund the buyer at the storefront: an amount in the order's currency, never more
    than what is still refundable (checked again by who carries it out)."""

    TYPE = "aftersales.refund_requested"

    case_id: uuid.UUID = Field(description="The case; the refund's idempotency key.")
    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    amount: Decimal = Field(description="The amount to refund, a decimal.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    reason: str = Field(description="Why, for the storefront's refund note.")
    kind: Literal["refund", "compensation"] = Field(
        default="refund",
        description="`refund` (goods not kept or not received) or `compensation` (a partial"
        " refund for a delay, a damage kept, a wrong item kept at a discount).",
    )
    lines: list[CaseLineV1] = Field(
        default_factory=list,
        description="The lines refunded, for the storefront's record (no restock); empty"
        " for an amount not tied to lines.",
    )
    attempt: int = Field(
        default=1,
        ge=1,
        description="1 for the case's first approval, one more for each approval after"
        " its outcome failed: a new try (the same attempt again is a duplicate).",
    )


class AftersalesReshipRequested(Event):
    """Send lines again: a new supplier order linked to the original, placed once per
    case (same supplier, or ``supplier_id`` when another is to send it)."""

    TYPE = "aftersales.reship_requested"

    case_id: uuid.UUID = Field(description="The case; one reship per case.")
    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    lines: list[CaseLineV1] = Field(description="The lines and units to send again.")
    original_supplier_order_id: uuid.UUID | None = Field(
        default=None, description="The supplier order it replaces, when known."
    )
    supplier_id: uuid.UUID | None = Field(
        default=None, description="Another supplier to send it (a backup); none: the same."
    )
    reason: str = Field(description="Why (lost, wrong item, …), for the supplier.")
    attempt: int = Field(
        default=1,
        ge=1,
        description="1 for the case's first approval, one more for each approval after"
        " its outcome failed: a new try (the same attempt again is a duplicate).",
    )


class AftersalesDiscountRequested(Event):
    """A single-use discount code for the buyer of the order (a compensation)."""

    TYPE = "aftersales.discount_requested"

    case_id: uuid.UUID = Field(description="The case; one code per case.")
    order_id: uuid.UUID = Field(description="Our order id (whose buyer gets the code).")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    amount: Decimal = Field(description="The code's value, a fixed amount off.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    valid_days: int = Field(default=90, ge=1, description="Days the code can be used.")
    reason: str = Field(description="Why, for the code's title at the storefront.")
    attempt: int = Field(
        default=1,
        ge=1,
        description="1 for the case's first approval, one more for each approval after"
        " its outcome failed: a new try (the same attempt again is a duplicate).",
    )


class AftersalesPaymentRequested(Event):
    """Ask the buyer to pay an amount (an exchange for a dearer variant: the difference)
    through a payment link of the storefront, e-mailed by order-intake; the resolution
    that needs it waits for ``order.payment_received`` (or ``order.payment_failed``)."""

    TYPE = "aftersales.payment_requested"

    case_id: uuid.UUID = Field(description="The case; one payment request per case.")
    order_id: uuid.UUID = Field(description="Our order id (whose buyer pays).")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    amount: Decimal = Field(gt=0, description="The amount to pay, a decimal.")
    currency: str = Field(description="ISO 4217 currency code of the amount.")
    reason: str = Field(description="What it pays for, for the storefront's line and note.")
    valid_days: int = Field(
        default=14, ge=1, le=90, description="Days the buyer has to pay before it fails."
    )
    attempt: int = Field(
        default=1,
        ge=1,
        description="1 for the case's first approval, one more for each approval after"
        " its outcome failed: a new try (the same attempt again is a duplicate).",
    )


class AftersalesReturnShipped(Event):
    """The buyer sent goods back (an RMA) with this tracking number: logistics follows
    the return parcel like any other, and its ``shipment.*`` events carry the case id
    (``delivered``: the return arrived)."""

    TYPE = "aftersales.return_shipped"

    case_id: uuid.UUID = Field(description="The case; one return parcel per case.")
    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    tracking_number: str = Field(description="The return parcel's tracking number.")
    carrier: str | None = Field(description="The carrier's name as the buyer gave it.")
    destination_country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-2 country the return goes to, if known."
    )


BuyerNoticeKind = Literal[
    "case_received",
    "evidence_needed",
    "approved",
    "return_instructions",
    "refund_sent",
    "replacement_shipped",
    "discount_code",
    "rejected",
]


class AftersalesBuyerNotice(Event):
    """Tell the buyer where their case stands, once per case and kind (en or zh, in the
    buyer's language, by the service that holds the address)."""

    TYPE = "aftersales.buyer_notice"

    case_id: uuid.UUID = Field(description="The case; with `kind`, the message's key.")
    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    kind: BuyerNoticeKind = Field(
        description="case_received, evidence_needed, approved, return_instructions,"
        " refund_sent, replacement_shipped, discount_code or rejected."
    )
    case_type: str = Field(description="The case's type (`lost`, `damaged`, …).")
    case_page: str | None = Field(
        default=None, description="The buyer's page of the case on aftersales, a path."
    )
    details: dict[str, str] = Field(
        default_factory=dict,
        description="What the message says (`amount`, `currency`, `next_step`,"
        " `return_address`, `rma`, `code`, `tracking_number`, `reason`), all strings.",
    )


class AftersalesSupplierNotice(Event):
    """Tell the supplier how a case about its order was settled and what it bears,
    through its channel (portal, http protocol callback, e-mail)."""

    TYPE = "aftersales.supplier_notice"

    case_id: uuid.UUID = Field(description="The case.")
    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The supplier order concerned.")
    case_type: str = Field(description="The case's type (`lost`, `damaged`, …).")
    resolution: str = Field(description="refund, reship, return_then_refund, exchange …")
    cost: Decimal = Field(description="What the resolution cost.")
    currency: str = Field(description="ISO 4217 currency code of the cost.")
    borne_by: Literal["supplier", "merchant", "carrier"] = Field(description="Who bears the cost.")
    goods_back: bool = Field(description="Whether the goods go back to the supplier.")
    note: str = Field(description="The case in a sentence, for the supplier.")
