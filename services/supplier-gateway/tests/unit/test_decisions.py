"""What a supplier's answer does to a supplier order, decided without a database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from supplier_gateway.domain.decisions import (
    Attempt,
    CancelAnswer,
    CancelState,
    Limits,
    PlacementState,
    decide_cancellation,
    decide_placement,
    decide_rejection,
)
from supplier_gateway.domain.supplier_order import Status

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
LIMITS = Limits(
    retry_base_seconds=5.0, retry_cap_seconds=600.0, max_unsettled_lookups=3, sync_seconds=3600.0
)


def pending(attempts: int = 1, unsettled: int = 0, ref: str | None = None) -> PlacementState:
    return PlacementState(Status.PENDING, attempts, ref, unsettled)


# --- placement ---------------------------------------------------------------------


def test_placed_keeps_the_supplier_s_reference_and_is_looked_up_at_the_sync_pace() -> None:
    d = decide_placement(pending(ref="old"), Attempt("placed", supplier_ref="CJ-1"), NOW, LIMITS)
    assert (d.placed, d.supplier_ref, d.needs_lookup, d.last_error) == (True, "CJ-1", False, None)
    assert d.next_attempt_at == NOW + dt.timedelta(hours=1)
    assert (
        decide_placement(pending(ref="old"), Attempt("placed"), NOW, LIMITS).supplier_ref == "old"
    )


def test_refused_is_parked_and_remembers_an_unknown_earlier_call() -> None:
    d = decide_placement(
        pending(), Attempt("refused", unresolved=True, error="bad key"), NOW, LIMITS
    )
    assert (d.placed, d.next_attempt_at, d.needs_lookup, d.last_error) == (
        False,
        None,
        True,
        "bad key",
    )


def test_retry_backs_off_with_jitter_or_waits_as_asked() -> None:
    # attempt 3: ceiling 5 * 2**2 = 20 s, equal jitter: between 10 and 20 s
    low = decide_placement(pending(3), Attempt("retry", error="503"), NOW, LIMITS, rand=0.0)
    high = decide_placement(pending(3), Attempt("retry", error="503"), NOW, LIMITS, rand=1.0)
    assert low.next_attempt_at == NOW + dt.timedelta(seconds=10)
    assert high.next_attempt_at == NOW + dt.timedelta(seconds=20)
    assert low.details["retry_at"] == low.next_attempt_at.isoformat()
    asked = decide_placement(pending(3), Attempt("retry", retry_after=42.0), NOW, LIMITS)
    assert asked.next_attempt_at == NOW + dt.timedelta(seconds=42)


def test_a_settled_lookup_ends_the_run_of_unsettled_ones() -> None:
    d = decide_placement(pending(unsettled=2), Attempt("retry", lookup_settled=True), NOW, LIMITS)
    assert d.unsettled_lookups == 0 and d.details["lookup"] == "settled"
    assert not d.to_operator


def test_unsettled_answers_count_and_hand_the_order_to_an_operator_at_the_limit() -> None:
    unsettled = Attempt("retry", lookup_settled=False, lookup_answer="busy?", error="x")
    d = decide_placement(pending(unsettled=1), unsettled, NOW, LIMITS)
    assert (d.unsettled_lookups, d.to_operator) == (2, False)
    assert d.details["lookup"] == "unsettled" and d.details["lookup_answer"] == "busy?"
    d = decide_placement(pending(unsettled=2), unsettled, NOW, LIMITS)
    assert (d.unsettled_lookups, d.to_operator) == (3, True)
    # an unknown outcome the supplier does not show counts the same
    unknown = Attempt("retry", placed_unknown=True, error="timeout")
    d = decide_placement(pending(unsettled=2), unknown, NOW, LIMITS)
    assert d.to_operator
    assert d.details["lookup_answer"] == "timeout; the supplier does not show the order"


def test_needs_attention_goes_back_to_pending_only_on_a_sure_not_there() -> None:
    state = PlacementState(Status.NEEDS_ATTENTION, 5, None, 3)
    sure = decide_placement(state, Attempt("retry", lookup_settled=True), NOW, LIMITS)
    assert sure.back_to_pending and not sure.to_operator
    unsure = decide_placement(state, Attempt("retry", lookup_settled=False), NOW, LIMITS)
    assert unsure.back_to_pending is None and not unsure.to_operator  # already with one
    placed = decide_placement(state, Attempt("placed", lookup_settled=True), NOW, LIMITS)
    assert placed.placed and placed.back_to_pending is None


# --- cancellation --------------------------------------------------------------------

STATE = CancelState(attempts=2, unsettled_lookups=0, last_error="earlier")


def test_a_cancellation_the_supplier_could_not_answer_is_tried_again() -> None:
    d = decide_cancellation(STATE, CancelAnswer("retry", "503"), NOW, LIMITS, rand=1.0)
    assert (d.attempts, d.answered, d.cancel_refused) == (3, False, False)
    assert d.next_attempt_at == NOW + dt.timedelta(seconds=20)
    assert d.last_error == "earlier"  # kept: the answer is not the order's error
    assert d.details == {"outcome": "retry", "error": "503", "retry_at": d.details["retry_at"]}


def test_unsettled_cancellation_answers_are_flagged_once_at_the_limit() -> None:
    answer = CancelAnswer("retry", "odd answer", unsettled=True)
    flags = []
    state = STATE
    for _ in range(4):
        d = decide_cancellation(state, answer, NOW, LIMITS)
        flags.append(d.flag_for_operator)
        state = CancelState(d.attempts, d.unsettled_lookups, d.last_error)
    assert flags == [False, False, True, False]
    assert state.unsettled_lookups == 4


@pytest.mark.parametrize("result", ["too_late", "not_possible"])
def test_a_refused_cancellation_is_looked_up_like_an_open_order(result: str) -> None:
    d = decide_cancellation(
        CancelState(2, 2, None),
        CancelAnswer(result, None),
        NOW,
        LIMITS,  # type: ignore[arg-type]
    )
    assert (d.cancel_refused, d.answered, d.unsettled_lookups) == (True, True, 0)
    assert d.next_attempt_at == NOW + dt.timedelta(hours=1)
    assert d.last_error == result


def test_a_stopped_order_needs_nothing_more() -> None:
    d = decide_cancellation(CancelState(2, 1, "x"), CancelAnswer("cancelled"), NOW, LIMITS)
    assert (d.cancel_refused, d.answered, d.next_attempt_at, d.last_error) == (
        False,
        True,
        None,
        None,
    )
    assert d.unsettled_lookups == 0


# --- rejection -----------------------------------------------------------------------


def test_a_rejection_reports_only_the_lines_no_backup_took() -> None:
    backup, line = uuid.uuid4(), uuid.uuid4()
    all_taken = decide_rejection(replaced_by=[backup], lines_left=[])
    assert all_taken.replaced_by == [backup] and all_taken.publish_rejected_for == []
    some_left = decide_rejection(replaced_by=[], lines_left=[line])
    assert some_left.publish_rejected_for == [line]
