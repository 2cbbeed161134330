"""Events published by aftersales: an approved resolution, for the service that carries
it out (the storefront's refund by order-intake, which holds the shop's credentials; a
reship by supplier-gateway). Each carries the case id, which is also the idempotency
key: whoever carries it out does it once per case whatever the deliveries."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import Field

from dropship_common.contracts import Event

PUBLISHER = "aftersales"


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


class AftersalesReshipRequested(Event):
    """Send the lines again: a new supplier order linked to the original."""

    TYPE = "aftersales.reship_requested"

    case_id: uuid.UUID = Field(description="The case; one reship per case.")
    order_id: uuid.UUID = Field(description="Our order id.")
    shop_id: uuid.UUID | None = Field(description="The shop, when known.")
    line_ids: list[uuid.UUID] = Field(description="The order lines to send again.")
    reason: str = Field(description="Why (lost, wrong item, …), for the supplier.")
