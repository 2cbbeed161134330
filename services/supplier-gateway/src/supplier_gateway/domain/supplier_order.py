"""The supplier order's states and the moves allowed between them."""

from __future__ import annotations

import enum


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
