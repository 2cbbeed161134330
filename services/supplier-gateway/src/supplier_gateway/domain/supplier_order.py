"""The supplier order's states and the moves allowed between them."""

from __future__ import annotations

import enum
import re


class Status(enum.StrEnum):
    PENDING = "pending"
    PLACED = "placed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    # lookups after a call with an unknown outcome settled nothing: an operator says
    # whether the supplier has it (it is still looked up, and settles itself if the
    # supplier's answer becomes sure)
    NEEDS_ATTENTION = "needs_attention"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.PLACED, Status.CANCELLED, Status.NEEDS_ATTENTION}),
    # not placed (operator, or a sure "no such order"): placed again; placed (operator:
    # "as supplier order X", or the supplier's webhook / a lookup found it); cancelled
    # (the supplier is told if it has the order)
    Status.NEEDS_ATTENTION: frozenset({Status.PENDING, Status.PLACED, Status.CANCELLED}),
    Status.PLACED: frozenset({Status.ACCEPTED, Status.REJECTED, Status.SHIPPED, Status.CANCELLED}),
    Status.ACCEPTED: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.REJECTED: frozenset(),
    Status.SHIPPED: frozenset(),
    # cancelled here, but the supplier refused to stop it (too late) and ships: its
    # tracking still counts, so the buyer and the storefront learn where it is
    Status.CANCELLED: frozenset({Status.SHIPPED}),
}

OPEN = frozenset({Status.PLACED, Status.ACCEPTED})  # what a supplier still has to act on
# not placed yet, or not known to be: the placement worker sends or looks them up
PLACING = frozenset({Status.PENDING, Status.NEEDS_ATTENTION})

REJECT_REASONS = ("out_of_stock", "discontinued", "cannot_ship_to_destination", "other")


class IllegalTransition(ValueError):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"a {current.value} supplier order cannot become {target.value}")
        self.current, self.target = current, target


def transition(current: Status, target: Status) -> Status:
    if target not in ALLOWED[current]:
        raise IllegalTransition(current, target)
    return target


_S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_GENERIC = re.compile(r"^[A-Z0-9]{8,40}$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the 8-digit serial."""
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def normalize_tracking(number: str) -> str | None:
    """Upper-cased, spaces removed; None if malformed. UPU S10 numbers (``RR123456785CN``)
    must have the right check digit; others are 8-40 letters and digits."""
    value = re.sub(r"[\s-]", "", number).upper()
    s10 = _S10.match(value)
    if s10:
        return value if s10_check_digit(s10.group(2)) == int(s10.group(3)) else None
    return value if _GENERIC.match(value) else None
