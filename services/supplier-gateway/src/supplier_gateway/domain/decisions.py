"""What a supplier's answer does to a supplier order, decided without a database: the
placement worker claims an order, calls the supplier's adapter, asks these functions
what follows, and applies the decision (fields, timeline entry, what to do next).

* :func:`decide_placement`: the outcome of an attempt to place (or look up) an order
  still being placed;
* :func:`decide_cancellation`: the supplier's answer to "stop this order";
* :func:`decide_rejection`: a supplier's rejection, given which lines a backup supplier
  took over.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from supplier_gateway.domain.placement import next_attempt, retry_delay
from supplier_gateway.domain.supplier_order import Status

UNSETTLED = "unsettled"  # a placement attempt's "lookup": its answer settled nothing
SETTLED = "settled"  # found, or surely not there


@dataclass(frozen=True)
class Limits:
    """The placement settings a decision needs."""

    retry_base_seconds: float
    retry_cap_seconds: float
    max_unsettled_lookups: int
    sync_seconds: float


@dataclass(frozen=True)
class Attempt:
    """What one attempt to place got from the supplier (the worker's ``Outcome``
    without its I/O records)."""

    result: str  # placed | refused | retry
    supplier_ref: str | None = None
    unresolved: bool = False
    retry_after: float | None = None
    error: str | None = None
    lookup_settled: bool | None = None
    lookup_answer: str | None = None
    placed_unknown: bool = False

    @property
    def settled_nothing(self) -> bool:
        return self.lookup_settled is False or self.placed_unknown


@dataclass(frozen=True)
class PlacementState:
    """The supplier order's fields a placement decision reads."""

    status: Status
    attempts: int  # this attempt's number
    supplier_ref: str | None
    unsettled_lookups: int


@dataclass(frozen=True)
class PlacementDecision:
    supplier_ref: str | None
    needs_lookup: bool
    last_error: str | None
    next_attempt_at: dt.datetime | None
    unsettled_lookups: int
    details: dict[str, Any] = field(default_factory=dict)  # for the timeline entry
    placed: bool = False  # mark placed: supplier.order_placed, hand-off
    back_to_pending: str | None = None  # needs_attention settled: why it is placed again
    to_operator: bool = False  # needs_attention now: an operator says what happened


def decide_placement(
    state: PlacementState,
    attempt: Attempt,
    now: dt.datetime,
    limits: Limits,
    *,
    rand: float | None = None,
) -> PlacementDecision:
    """An order still being placed (``pending`` or ``needs_attention``)."""
    details: dict[str, Any] = {}
    unsettled = state.unsettled_lookups
    if attempt.lookup_settled is not None or attempt.placed_unknown:
        if attempt.settled_nothing:
            unsettled += 1
            details["lookup"] = UNSETTLED
            details["lookup_answer"] = attempt.lookup_answer or (
                f"{attempt.error}; the supplier does not show the order"
            )
            details["unsettled_lookups"] = unsettled
        else:
            unsettled = 0
            details["lookup"] = SETTLED
    back_to_pending = None
    if (
        state.status is Status.NEEDS_ATTENTION
        and attempt.result != "placed"
        and attempt.lookup_settled
        and not attempt.placed_unknown
    ):
        back_to_pending = "the supplier's lookup settled it: it has no such order"
    to_operator = (
        state.status is Status.PENDING
        and attempt.settled_nothing
        and unsettled >= limits.max_unsettled_lookups
    )
    if attempt.result == "placed":
        return PlacementDecision(
            supplier_ref=attempt.supplier_ref or state.supplier_ref,
            needs_lookup=False,
            last_error=None,
            next_attempt_at=now + dt.timedelta(seconds=limits.sync_seconds),
            unsettled_lookups=unsettled,
            details=details,
            placed=True,
            to_operator=to_operator,
        )
    if attempt.result == "refused":  # parked until an operator or new credentials
        next_at = None
    else:
        delay = retry_delay(
            state.attempts,
            base=limits.retry_base_seconds,
            cap=limits.retry_cap_seconds,
            retry_after=attempt.retry_after,
            rand=rand,
        )
        next_at = next_attempt(now, delay)
        details["retry_at"] = next_at.isoformat()
    return PlacementDecision(
        supplier_ref=state.supplier_ref,
        needs_lookup=attempt.unresolved,
        last_error=attempt.error,
        next_attempt_at=next_at,
        unsettled_lookups=unsettled,
        details=details,
        back_to_pending=back_to_pending,
        to_operator=to_operator,
    )


CancelResult = Literal["cancelled", "too_late", "not_possible", "retry"]
REFUSED: tuple[CancelResult, ...] = ("too_late", "not_possible")  # the supplier ships it


@dataclass(frozen=True)
class CancelAnswer:
    result: CancelResult
    error: str | None = None
    retry_after: float | None = None
    unsettled: bool = False  # the supplier answered, and the answer settled nothing


@dataclass(frozen=True)
class CancelState:
    attempts: int
    unsettled_lookups: int
    last_error: str | None


@dataclass(frozen=True)
class CancelDecision:
    attempts: int
    unsettled_lookups: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    cancel_refused: bool  # set it: the supplier ships it, looked up like an open order
    details: dict[str, Any]
    flag_for_operator: bool  # as many unsettled answers as the limit: no longer silent
    answered: bool  # the supplier has answered: the order's answer may be due


def decide_cancellation(
    state: CancelState,
    answer: CancelAnswer,
    now: dt.datetime,
    limits: Limits,
    *,
    rand: float | None = None,
) -> CancelDecision:
    details: dict[str, Any] = {"outcome": answer.result}
    if answer.error:
        details["error"] = answer.error
    if answer.result == "retry":
        attempts = state.attempts + 1
        delay = retry_delay(
            attempts,
            base=limits.retry_base_seconds,
            cap=limits.retry_cap_seconds,
            retry_after=answer.retry_after,
            rand=rand,
        )
        next_at = next_attempt(now, delay)
        details["retry_at"] = next_at.isoformat()
        unsettled = state.unsettled_lookups
        flag = False
        if answer.unsettled:
            unsettled += 1
            details["unsettled_lookups"] = unsettled
            flag = unsettled == limits.max_unsettled_lookups
        return CancelDecision(
            attempts=attempts,
            unsettled_lookups=unsettled,
            next_attempt_at=next_at,
            last_error=state.last_error,
            cancel_refused=False,
            details=details,
            flag_for_operator=flag,
            answered=False,
        )
    refused = answer.result in REFUSED
    return CancelDecision(
        attempts=state.attempts,
        unsettled_lookups=0,
        next_attempt_at=now + dt.timedelta(seconds=limits.sync_seconds) if refused else None,
        last_error=(answer.error or answer.result) if refused else None,
        cancel_refused=refused,
        details=details,
        flag_for_operator=False,
        answered=True,
    )


@dataclass(frozen=True)
class RejectionDecision:
    replaced_by: list[uuid.UUID]  # the backups' new supplier orders (on the timeline)
    publish_rejected_for: list[uuid.UUID]  # lines no backup took: supplier.order_rejected


def decide_rejection(
    *, replaced_by: Sequence[uuid.UUID], lines_left: Sequence[uuid.UUID]
) -> RejectionDecision:
    """After a supplier's rejection and the re-routing of its lines to backup suppliers:
    the replacements go on the timeline; only the lines no backup took are reported
    (``supplier.order_rejected``, which holds the order for an operator), and nothing
    is reported when every line found a backup."""
    return RejectionDecision(replaced_by=list(replaced_by), publish_rejected_for=list(lines_left))
