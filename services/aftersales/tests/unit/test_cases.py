import datetime as dt

import pytest

from aftersales.domain.cases import (
    CaseStatus as S,
)
from aftersales.domain.cases import (
    Deadline,
    IllegalTransition,
    StepTimes,
    deadline,
    due_by,
    transition,
)

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


def test_the_road_from_open_to_resolved() -> None:
    road = [S.AWAITING_BUYER, S.PROPOSED, S.APPROVED, S.RESOLVING, S.RESOLVED]
    current = S.OPEN
    for target in road:
        current = transition(current, target)
    assert current == S.RESOLVED


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.APPROVED),  # never approved without a proposal
        (S.APPROVED, S.APPROVED),  # nor twice (two agents at once: the second is refused)
        (S.PROPOSED, S.RESOLVED),  # nor resolved unapproved
        (S.RESOLVED, S.OPEN),
        (S.REJECTED, S.PROPOSED),
        (S.APPROVED, S.WITHDRAWN),  # once approved, the money may be moving
    ],
)
def test_moves_outside_the_table_are_refused(current: S, target: S) -> None:
    with pytest.raises(IllegalTransition):
        transition(current, target)


def test_a_failed_resolution_goes_back_to_an_agent() -> None:
    assert transition(S.RESOLVING, S.PROPOSED) == S.PROPOSED


def test_first_answer_within_a_day_at_risk_in_its_last_quarter() -> None:
    times = StepTimes()
    due = due_by(S.OPEN, T0, times)
    assert due == T0 + dt.timedelta(days=1)
    assert deadline(T0, due, T0 + dt.timedelta(hours=17), times) == Deadline.ON_TIME
    assert deadline(T0, due, T0 + dt.timedelta(hours=19), times) == Deadline.AT_RISK
    assert deadline(T0, due, T0 + dt.timedelta(hours=25), times) == Deadline.OVERDUE
    # waiting on the buyer: their clock, not ours; closed: none
    assert due_by(S.AWAITING_BUYER, T0, times) is None
    assert due_by(S.RESOLVED, T0, times) is None
    assert deadline(T0, None, T0 + dt.timedelta(days=30), times) == Deadline.ON_TIME
