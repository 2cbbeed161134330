"""When an order counts as delivered: every parcel delivered, or replaced.

A parcel that never arrives (presumed lost, returned to the sender, or simply silent)
is replaced by an aftersales reship: a later supplier order for the same lines, whose
own parcel then arrives. The buyer has the goods, so the order is delivered; waiting
for the lost parcel would keep it ``shipped`` for ever. A later parcel of the *same*
supplier order is not a replacement (one order's units may come in several parcels),
so that case still waits for every parcel."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol


class ParcelView(Protocol):
    @property
    def status(self) -> str | None: ...
    @property
    def line_ids(self) -> list[str]: ...
    @property
    def supplier_order_id(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> dt.datetime: ...


def replaced(parcel: ParcelView, parcels: Sequence[ParcelView]) -> bool:
    """Every line of ``parcel`` reached the buyer in a delivered parcel of a later,
    other supplier order (a reship)."""
    if not parcel.line_ids:
        return False
    covered = {
        line
        for other in parcels
        if other.status == "delivered"
        and other.supplier_order_id != parcel.supplier_order_id
        and other.created_at > parcel.created_at
        for line in other.line_ids
    }
    return set(parcel.line_ids) <= covered


def every_parcel_arrived(parcels: Sequence[ParcelView]) -> bool:
    """Each parcel delivered, or replaced by a delivered reship (False with no parcel)."""
    return bool(parcels) and all(p.status == "delivered" or replaced(p, parcels) for p in parcels)
