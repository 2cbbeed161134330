"""Events published by supplier-gateway (order-intake listens for hand-off).

``shipment.tracking_assigned`` stays here: supplier-gateway learns the tracking from
the supplier and publishes it. What happens to a parcel after that is logistics'
(``dropship_common.contracts.logistics``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import Field

from dropship_common.contracts import Event
from dropship_common.contracts.order_intake import AddressV1

PUBLISHER = "supplier-gateway"


class SupplierOrderPlaced(Event):
    """A supplier accepted the order (or part of it): the order is handed off."""

    TYPE = "supplier.order_placed"

    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The supplier order placed.")
    supplier_id: uuid.UUID = Field(description="The supplier that took it.")
    placed_at: dt.datetime = Field(description="When the supplier took it.")
    goods_cost: Decimal | None = Field(
        default=None,
        description="What the supplier charges for the goods (its mapped unit costs times"
        " the quantities), when every line has a cost; for aftersales' reship estimates.",
    )
    currency: str | None = Field(
        default=None, description="ISO 4217 code of `goods_cost`, when it is set."
    )


class SupplierOrderRejected(Event):
    """A supplier cannot ship (out of stock, …): the order needs a decision."""

    TYPE = "supplier.order_rejected"

    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The supplier order rejected.")
    supplier_id: uuid.UUID = Field(description="The supplier that rejected it.")
    reason: str = Field(
        description="out_of_stock, discontinued, cannot_ship_to_destination or other."
    )
    note: str | None = Field(default=None, description="The supplier's explanation.")
    restock_date: dt.date | None = Field(
        default=None, description="When the supplier expects stock again, if it said."
    )
    line_ids: list[uuid.UUID] = Field(description="The order lines it cannot ship.")
    rejected_at: dt.datetime = Field(description="When it rejected.")


class ShipmentTrackingAssigned(Event):
    """A supplier shipped (part of) an order: carrier as given and tracking number(s)."""

    TYPE = "shipment.tracking_assigned"

    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The supplier order shipped.")
    supplier_id: uuid.UUID = Field(description="The supplier that shipped it.")
    line_ids: list[uuid.UUID] = Field(description="The order lines the parcel(s) hold.")
    carrier: str = Field(description="The carrier's name as the supplier gave it.")
    tracking_numbers: list[str] = Field(
        description=(
            "Tracking numbers, normalised (upper case, no spaces; UPU S10 numbers carry a"
            " valid check digit)."
        )
    )
    shipped_at: dt.datetime = Field(description="When it shipped.")
    tracking_urls: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The supplier's own tracking page of a number (as in `tracking_numbers`),"
            " when it gives one (CJ's trackingUrl; see `carriers.valid_tracking_url`):"
            " used instead of ours."
        ),
    )
    duty_likely: bool | None = Field(
        default=None,
        description=(
            "From the shipping notice's customs declaration: whether the buyer will likely"
            " pay duty or VAT at import (the declared value above the destination's"
            " threshold); none when no rule applies or the currencies differ."
        ),
    )
    customs_rule: str | None = Field(
        default=None, description="The destination's import rule the notice applied."
    )
    case_id: uuid.UUID | None = Field(
        default=None,
        description="For a reship: the aftersales case it resolves (the buyer is told"
        " of a replacement, not of a first shipment); none for the order's own parcels.",
    )


class SupplierOrderOverdue(Event):
    """A supplier has not shipped by its ship-by date (placed + handling business days)."""

    TYPE = "supplier.order_overdue"

    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The supplier order overdue.")
    supplier_id: uuid.UUID = Field(description="The supplier that is late.")
    ship_by: dt.date = Field(description="The date it should have shipped by.")
    detected_at: dt.datetime = Field(description="When we noticed.")


class SupplierCancellationAnswered(Event):
    """What the suppliers made of a cancellation: cancelled, or too late (shipped)."""

    TYPE = "supplier.cancellation_answered"

    order_id: uuid.UUID = Field(description="Our order id.")
    cancelled: list[uuid.UUID] = Field(description="Supplier orders stopped.")
    already_shipped: list[uuid.UUID] = Field(
        description="Supplier orders too late to stop (shipped): a return, for aftersales."
    )
    answered_at: dt.datetime = Field(description="When the answer was complete.")


class SupplierAddressChangeAnswered(Event):
    """What the suppliers made of a new shipping address."""

    TYPE = "supplier.address_change_answered"

    order_id: uuid.UUID = Field(description="Our order id.")
    shipping_address: AddressV1 = Field(description="The new address asked for.")
    applied: list[uuid.UUID] = Field(
        description="Supplier orders that will ship to the new address."
    )
    too_late: list[uuid.UUID] = Field(description="Supplier orders already shipped to the old one.")
    answered_at: dt.datetime = Field(description="When the answer was complete.")


class SupplierReshipPlaced(Event):
    """A reship aftersales asked for is placed with a supplier, once per case: a new
    supplier order linked to the original; its tracking comes as
    ``shipment.tracking_assigned`` with the case id."""

    TYPE = "supplier.reship_placed"

    case_id: uuid.UUID = Field(description="The case it resolves.")
    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The new supplier order.")
    original_supplier_order_id: uuid.UUID | None = Field(
        description="The supplier order it replaces, when known."
    )
    supplier_id: uuid.UUID = Field(description="The supplier that sends it.")
    goods_cost: Decimal | None = Field(
        default=None, description="The supplier's price of the goods, when mapped."
    )
    currency: str | None = Field(default=None, description="ISO 4217 code of the cost.")
    placed_at: dt.datetime = Field(description="When the supplier accepted it.")


class SupplierReshipFailed(Event):
    """A reship could not be placed (no supplier maps the lines, the supplier refused):
    the case goes back to an agent."""

    TYPE = "supplier.reship_failed"

    case_id: uuid.UUID = Field(description="The case.")
    order_id: uuid.UUID = Field(description="Our order id.")
    code: str = Field(description="unmapped, rejected, unknown_order or supplier_error.")
    message: str = Field(description="Why, for the agent.")
    failed_at: dt.datetime = Field(description="When it was given up.")
