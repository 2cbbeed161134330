"""Events published by logistics.

Logistics owns a parcel's life after its tracking is assigned: every ``shipment.*``
event after ``shipment.tracking_assigned`` is defined here, as logistics publishes it.
``shipment.tracking_assigned`` itself stays in ``dropship_common.contracts.
supplier_gateway``, which publishes it.

Who listens: order-intake (the order's status, the storefront's fulfilment events, the
buyer's messages: it holds the buyer and the shop's credentials) and aftersales (cases
from ``shipment.presumed_lost`` and a ``returned_to_sender`` status). Logistics holds no
buyer data: the events carry what the parcel is, never who receives it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from dropship_common.contracts import Event

PUBLISHER = "logistics"

STATUSES = (
    "pending, info_received, in_transit, in_customs, out_for_delivery,"
    " available_for_pickup, delivery_failed, delivered, exception, returning,"
    " returned_to_sender, expired or lost"
)


class _ParcelEvent(Event):
    parcel_id: uuid.UUID = Field(description="Logistics' parcel id.")
    order_id: uuid.UUID = Field(description="Our order id.")
    supplier_order_id: uuid.UUID = Field(description="The supplier order it ships.")
    shop_id: uuid.UUID | None = Field(description="The shop, when logistics knows it.")
    tracking_number: str = Field(description="The parcel's tracking number.")
    carrier: str | None = Field(
        description="Our carrier code (`chinapost`, `yunexpress`, `ups` …), if known."
    )
    carrier_name: str | None = Field(description="The carrier's name, for people.")
    status: str = Field(description=f"The parcel's status now: {STATUSES}.")
    tracking_page: str = Field(
        description="The buyer's tracking page on logistics (`/track/{token}`), a path."
    )
    window_from: dt.date = Field(description="First day of the expected delivery window.")
    window_to: dt.date = Field(description="Last day of the expected delivery window.")
    case_id: uuid.UUID | None = Field(
        default=None,
        description="The aftersales case the parcel belongs to: a reship's replacement, or"
        " a buyer's return (`return_parcel`); none for the order's own parcels.",
    )
    return_parcel: bool = Field(
        default=False,
        description="The buyer's return to the shop (`aftersales.return_shipped`), not a"
        " parcel to the buyer: no buyer message, no storefront milestone.",
    )


class ShipmentStatusChanged(_ParcelEvent):
    """A parcel's normalised status changed (a milestone): never backwards, once per
    change. A burst of catch-up scans (in transit to delivered in one push) is one
    event with the newest status."""

    TYPE = "shipment.status_changed"

    previous_status: str = Field(description="The status before this change.")
    occurred_at: dt.datetime = Field(description="When the carrier scanned it.")
    description: str | None = Field(description="The carrier's words for the scan.")
    location: str | None = Field(description="Where, as the carrier says it.")
    duty_likely: bool | None = Field(
        default=None,
        description=(
            "At customs: whether duty or VAT is likely due (the supplier's shipping"
            " notice, via `shipment.tracking_assigned`); none when not known."
        ),
    )
    customs_rule: str | None = Field(
        default=None, description="At customs: the destination's import rule, if known."
    )
    buyer_notice: str | None = Field(
        description=(
            "What the buyer is to be told of this change, decided once per parcel:"
            " `customs`, `out_for_delivery`, `delivered`, `delivery_failed`,"
            " `available_for_pickup`, or none (no news for the buyer, or stale)."
        )
    )


class ShipmentFollowUp(_ParcelEvent):
    """The follow-up (7 days after shipping for express, 30 for postal): the parcel is
    not delivered yet; the buyer gets a status update with the expected window."""

    TYPE = "shipment.follow_up"

    due_at: dt.datetime = Field(description="When the follow-up fell due.")
    last_scan_at: dt.datetime | None = Field(description="The carrier's newest scan.")
    last_scan: str | None = Field(description="Its description, as the carrier says it.")


class ShipmentStalled(_ParcelEvent):
    """No new scan for the follow-up period: a reassuring message to the buyer, and
    the parcel is on the worklist."""

    TYPE = "shipment.stalled"

    last_scan_at: dt.datetime | None = Field(description="The carrier's newest scan.")
    silent_days: int = Field(description="Days without a scan.")
    silent_route: bool = Field(
        description=(
            "The route is known to lose tracking after leaving China: the buyer is told"
            " to ask the local post office, not that the parcel is lost."
        )
    )


class ShipmentPresumedLost(_ParcelEvent):
    """No tracking information for 40 days (or, on a route that goes silent, past the
    longest window): aftersales opens a case (reship or refund)."""

    TYPE = "shipment.presumed_lost"

    last_scan_at: dt.datetime | None = Field(description="The carrier's newest scan.")
    silent_days: int = Field(description="Days without a scan.")
    detected_at: dt.datetime = Field(description="When the rule fired.")


class ShipmentDeliveryWindowExtended(_ParcelEvent):
    """The parcel will miss its window: it is extended before it closes (at most to 120
    days after shipping); the buyer gets the new estimate."""

    TYPE = "shipment.delivery_window_extended"

    previous_window_to: dt.date = Field(description="The last day before the extension.")
    reason: str = Field(description="late_estimate, closing (no delivery yet) or silent_route.")
