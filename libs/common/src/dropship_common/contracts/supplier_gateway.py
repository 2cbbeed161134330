"""Events published by supplier-gateway (order-intake listens for hand-off)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import urlsplit

from pydantic import Field

from dropship_common.contracts import Event
from dropship_common.contracts.order_intake import AddressV1

MAX_TRACKING_URL = 500
_NO_SPACE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


def valid_tracking_url(url: object) -> bool:
    """A tracking page a buyer may be sent to: an absolute https URL with a host, no
    spaces or control characters, at most 500 characters."""
    if not isinstance(url, str) or len(url) > MAX_TRACKING_URL or not _NO_SPACE.match(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)


class SupplierOrderPlaced(Event):
    """A supplier accepted the order (or part of it): the order is handed off."""

    TYPE = "supplier.order_placed"

    order_id: uuid.UUID
    supplier_order_id: uuid.UUID
    supplier_id: uuid.UUID
    placed_at: dt.datetime


class SupplierOrderRejected(Event):
    """A supplier cannot ship (out of stock, …): the order needs a decision."""

    TYPE = "supplier.order_rejected"

    order_id: uuid.UUID
    supplier_order_id: uuid.UUID
    supplier_id: uuid.UUID
    reason: str
    note: str | None = None
    restock_date: dt.date | None = None
    line_ids: list[uuid.UUID]
    rejected_at: dt.datetime


class ShipmentTrackingAssigned(Event):
    """A supplier shipped (part of) an order: carrier as given and tracking number(s)."""

    TYPE = "shipment.tracking_assigned"

    order_id: uuid.UUID
    supplier_order_id: uuid.UUID
    supplier_id: uuid.UUID
    line_ids: list[uuid.UUID]
    carrier: str
    tracking_numbers: list[str]
    shipped_at: dt.datetime
    # the supplier's own tracking page of a number (as in ``tracking_numbers``), when it
    # gives one (CJ's trackingUrl; see ``valid_tracking_url``): used instead of ours
    tracking_urls: dict[str, str] = Field(default_factory=dict)


class SupplierOrderOverdue(Event):
    """A supplier has not shipped by its ship-by date (placed + handling business days)."""

    TYPE = "supplier.order_overdue"

    order_id: uuid.UUID
    supplier_order_id: uuid.UUID
    supplier_id: uuid.UUID
    ship_by: dt.date
    detected_at: dt.datetime


class SupplierCancellationAnswered(Event):
    """What the suppliers made of a cancellation: cancelled, or too late (shipped)."""

    TYPE = "supplier.cancellation_answered"

    order_id: uuid.UUID
    cancelled: list[uuid.UUID]  # supplier orders stopped
    already_shipped: list[uuid.UUID]  # too late: a return, for aftersales
    answered_at: dt.datetime


class SupplierAddressChangeAnswered(Event):
    """What the suppliers made of a new shipping address."""

    TYPE = "supplier.address_change_answered"

    order_id: uuid.UUID
    shipping_address: AddressV1
    applied: list[uuid.UUID]  # supplier orders that will ship to the new address
    too_late: list[uuid.UUID]  # already shipped to the old one
    answered_at: dt.datetime
