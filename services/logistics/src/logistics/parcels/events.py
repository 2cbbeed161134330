"""The ``shipment.*`` events of a parcel, built from its row."""

from __future__ import annotations

from typing import Any

from logistics.domain.carriers import carrier_name
from logistics.models import Parcel


def tracking_page(parcel: Parcel) -> str:
    return f"/track/{parcel.token}"


def parcel_fields(parcel: Parcel) -> dict[str, Any]:
    """The fields every ``shipment.*`` event of logistics carries."""
    return {
        "parcel_id": parcel.id,
        "order_id": parcel.order_id,
        "supplier_order_id": parcel.supplier_order_id,
        "shop_id": parcel.shop_id,
        "tracking_number": parcel.tracking_number,
        "carrier": parcel.carrier,
        "carrier_name": carrier_name(parcel.carrier) or parcel.carrier_given,
        "status": parcel.status,
        "tracking_page": tracking_page(parcel),
        "window_from": parcel.window_from,
        "window_to": parcel.window_to,
        "case_id": parcel.case_id,
        "return_parcel": parcel.return_parcel,
    }
