"""A case: one problem of an order (DOMAIN.md's aftersales table), with a guarded
lifecycle and a due-by time per step.

``open`` → ``awaiting_buyer`` / ``awaiting_supplier`` (evidence, an answer) →
``proposed`` (the policy's proposal, or an agent's) → ``approved`` → ``resolving``
(refund, reship, return, exchange or compensation under way) → ``resolved``; or
``rejected`` / ``withdrawn``. Every move not in :data:`TRANSITIONS` is refused with
:class:`IllegalTransition`, so a case cannot be approved twice or resolved unapproved.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class CaseType(enum.StrEnum):
    ADDRESS_CHANGE_AFTER_HANDOFF = "address_change_after_handoff"
    CANCELLATION_AFTER_HANDOFF = "cancellation_after_handoff"
    NOT_DELIVERED_IN_TIME = "not_delivered_in_time"
    LOST = "lost"
    HELD_BY_CUSTOMS = "held_by_customs"
    WRONG_ITEM = "wrong_item"
    QUANTITY_SHORT = "quantity_short"
    DAMAGED = "damaged"
    WRONG_SIZE = "wrong_size"
    NOT_AS_DESCRIBED = "not_as_described"
    DELAYED = "delayed"
    RETURNED_TO_SENDER = "returned_to_sender"
    UNWANTED = "unwanted"  # a return the buyer asked for at the storefront (changed mind)


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    AWAITING_BUYER = "awaiting_buyer"
    AWAITING_SUPPLIER = "awaiting_supplier"
    PROPOSED = "proposed"
    APPROVED = "approved"
    RESOLVING = "resolving"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


_S = CaseStatus
CLOSED: frozenset[CaseStatus] = frozenset({_S.RESOLVED, _S.REJECTED, _S.WITHDRAWN})
_WAITING = frozenset({_S.AWAITING_BUYER, _S.AWAITING_SUPPLIER})

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    _S.OPEN: frozenset({*_WAITING, _S.PROPOSED, _S.REJECTED, _S.WITHDRAWN}),
    _S.AWAITING_BUYER: frozenset(
        {_S.OPEN, _S.AWAITING_SUPPLIER, _S.PROPOSED, _S.REJECTED, _S.WITHDRAWN}
    ),
    _S.AWAITING_SUPPLIER: frozenset(
        {_S.OPEN, _S.AWAITING_BUYER, _S.PROPOSED, _S.REJECTED, _S.WITHDRAWN}
    ),
    # an agent may send a proposal back for evidence, or replace it
    _S.PROPOSED: frozenset({*_WAITING, _S.PROPOSED, _S.APPROVED, _S.REJECTED, _S.WITHDRAWN}),
    _S.APPROVED: frozenset({_S.RESOLVING}),
    # a resolution that failed for good (the storefront refused) goes back to an agent
    _S.RESOLVING: frozenset({_S.RESOLVED, _S.PROPOSED}),
    _S.RESOLVED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.WITHDRAWN: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: CaseStatus, target: CaseStatus) -> None:
        super().__init__(f"a case cannot go from {current} to {target}")
        self.current, self.target = current, target


def transition(current: CaseStatus, target: CaseStatus) -> CaseStatus:
    """``target`` if the lifecycle allows it from ``current``; else IllegalTransition."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


# -- deadlines --------------------------------------------------------------------------


@dataclass(frozen=True)
class StepTimes:
    """How long each step may take before the case is overdue (per shop)."""

    first_answer: dt.timedelta = dt.timedelta(days=1)  # the buyer hears from us
    proposal: dt.timedelta = dt.timedelta(days=2)  # an agent decides
    resolution: dt.timedelta = dt.timedelta(days=3)  # the refund / reship is done
    at_risk_share: float = 0.25  # at risk once this share of the step's time is left


class Deadline(enum.StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"


def due_by(status: CaseStatus, since: dt.datetime, times: StepTimes) -> dt.datetime | None:
    """When the step the case is in must be done (None: closed, or waiting on the
    buyer or the supplier, whose clock is theirs)."""
    if status in CLOSED or status in _WAITING:
        return None
    if status == _S.OPEN:
        return since + times.first_answer
    if status == _S.PROPOSED:
        return since + times.proposal
    return since + times.resolution  # approved, resolving


def deadline(
    since: dt.datetime, due: dt.datetime | None, now: dt.datetime, times: StepTimes
) -> Deadline:
    if due is None or now < due - (due - since) * times.at_risk_share:
        return Deadline.ON_TIME
    return Deadline.AT_RISK if now < due else Deadline.OVERDUE
