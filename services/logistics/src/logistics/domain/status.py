"""One status taxonomy for every parcel, whatever the provider.

Each provider's statuses and sub-statuses are mapped to these in
:mod:`logistics.domain.provider_statuses`. ``FINAL`` statuses end the following (no
more polls). :func:`moves_forward` says whether a status reported by a scan *newer*
than the parcel's last one may replace the current one (a report older than that is
history, which :mod:`logistics.domain.progress` sorts out by time): a parcel never
moves back from a final status or onto the road again from its way back, but real
reversals are changes (an exception followed by transit, customs cleared and in
transit again, a failed delivery followed by out for delivery again, a delivered
parcel coming back to the sender).
"""

from __future__ import annotations

import enum


class ParcelStatus(enum.StrEnum):
    PENDING = "pending"  # registered, the carrier has no scan yet
    INFO_RECEIVED = "info_received"  # the carrier has the label, not the parcel
    IN_TRANSIT = "in_transit"
    IN_CUSTOMS = "in_customs"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERY_FAILED = "delivery_failed"  # an attempt failed; it may be tried again
    DELIVERED = "delivered"
    EXCEPTION = "exception"  # damaged, held, address problem …
    RETURNING = "returning"  # on its way back to the sender
    RETURNED_TO_SENDER = "returned_to_sender"
    EXPIRED = "expired"  # the provider stopped: no news for too long
    LOST = "lost"  # declared lost by the carrier or an operator


FINAL: frozenset[ParcelStatus] = frozenset(
    {ParcelStatus.DELIVERED, ParcelStatus.RETURNED_TO_SENDER, ParcelStatus.LOST}
)

# How far along the normal road to the buyer a status is. A report of a lower rank than
# the parcel's current one is history, not news (unless a reversal below allows it).
_RANK: dict[ParcelStatus, int] = {
    ParcelStatus.PENDING: 0,
    ParcelStatus.EXPIRED: 0,
    ParcelStatus.INFO_RECEIVED: 1,
    ParcelStatus.IN_TRANSIT: 2,
    ParcelStatus.EXCEPTION: 2,
    ParcelStatus.IN_CUSTOMS: 3,
    ParcelStatus.OUT_FOR_DELIVERY: 4,
    ParcelStatus.AVAILABLE_FOR_PICKUP: 4,
    ParcelStatus.DELIVERY_FAILED: 4,
    ParcelStatus.DELIVERED: 5,
    ParcelStatus.RETURNING: 6,
    ParcelStatus.RETURNED_TO_SENDER: 7,
    ParcelStatus.LOST: 7,
}

# Moves to a lower (or equal) rank that are real changes, not stale reports.
_REVERSALS: frozenset[tuple[ParcelStatus, ParcelStatus]] = frozenset(
    {
        (ParcelStatus.EXCEPTION, ParcelStatus.IN_TRANSIT),
        # a newer scan on the road again: customs cleared, back to the depot
        (ParcelStatus.IN_CUSTOMS, ParcelStatus.IN_TRANSIT),
        (ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.IN_TRANSIT),
        (ParcelStatus.AVAILABLE_FOR_PICKUP, ParcelStatus.IN_TRANSIT),
        (ParcelStatus.EXCEPTION, ParcelStatus.INFO_RECEIVED),
        (ParcelStatus.DELIVERY_FAILED, ParcelStatus.OUT_FOR_DELIVERY),
        (ParcelStatus.DELIVERY_FAILED, ParcelStatus.AVAILABLE_FOR_PICKUP),
        (ParcelStatus.DELIVERY_FAILED, ParcelStatus.IN_TRANSIT),
        (ParcelStatus.AVAILABLE_FOR_PICKUP, ParcelStatus.DELIVERY_FAILED),
        (ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.DELIVERY_FAILED),
        (ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.AVAILABLE_FOR_PICKUP),
        (ParcelStatus.IN_CUSTOMS, ParcelStatus.EXCEPTION),
        (ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.EXCEPTION),
        (ParcelStatus.DELIVERY_FAILED, ParcelStatus.EXCEPTION),
        (ParcelStatus.AVAILABLE_FOR_PICKUP, ParcelStatus.EXCEPTION),
        (ParcelStatus.EXPIRED, ParcelStatus.PENDING),
    }
)


def rank(status: ParcelStatus) -> int:
    return _RANK[status]


def moves_forward(current: ParcelStatus, reported: ParcelStatus) -> bool:
    """Whether ``reported`` (from an event newer than the parcel's last one) replaces
    ``current``. Final statuses stay, except an operator's ``lost`` undone by a real
    delivery and a delivered parcel that is coming back."""
    if reported == current:
        return False
    if current == ParcelStatus.LOST:
        return reported in {
            ParcelStatus.DELIVERED,
            ParcelStatus.RETURNING,
            ParcelStatus.RETURNED_TO_SENDER,
        }
    if current in FINAL and reported not in {
        ParcelStatus.RETURNING,
        ParcelStatus.RETURNED_TO_SENDER,
    }:
        return False
    if current == ParcelStatus.RETURNING and reported != ParcelStatus.RETURNED_TO_SENDER:
        return reported == ParcelStatus.LOST
    if (current, reported) in _REVERSALS:
        return True
    if reported in {ParcelStatus.EXCEPTION, ParcelStatus.EXPIRED}:
        # trouble may strike at any point before the end; expiry only means silence
        return reported == ParcelStatus.EXCEPTION or current == ParcelStatus.PENDING
    return _RANK[reported] > _RANK[current]
