"""Parcels of an order: how far it is shipped. Pure (the buyer's tracking link is
:func:`dropship_common.carriers.tracking_url`).

A supplier reports the lines a parcel covers (``shipment.tracking_assigned``); an order is
``shipped`` once every line that needs shipping is covered by some parcel, and
``partially_shipped`` before that (DOMAIN step 6)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from order_intake.domain.lifecycle import OrderStatus, can_transition

__all__ = ["ShippingProgress", "progress", "shipping_target"]

_S = OrderStatus


@dataclass(frozen=True)
class ShippingProgress:
    covered: frozenset[uuid.UUID]
    missing: frozenset[uuid.UUID]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def status(self) -> OrderStatus:
        return _S.SHIPPED if self.complete else _S.PARTIALLY_SHIPPED


def progress(
    lines_to_ship: Iterable[uuid.UUID], parcels: Iterable[Iterable[uuid.UUID]]
) -> ShippingProgress:
    """``lines_to_ship``: the order's lines that need shipping; ``parcels``: the lines each
    parcel covers. A line id not of this order is ignored."""
    wanted = frozenset(lines_to_ship)
    covered = frozenset(i for parcel in parcels for i in parcel) & wanted
    return ShippingProgress(covered=covered, missing=wanted - covered)


def shipping_target(current: OrderStatus, shipped: ShippingProgress) -> OrderStatus | None:
    """The status the order moves to now, or None when it stays (already there, or a
    state it cannot leave this way: on hold, cancelled, delivered)."""
    target = shipped.status
    if target == current or not can_transition(current, target):
        return None
    return target
