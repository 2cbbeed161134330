import pytest

from supplier_gateway.domain.supplier_order import (
    IllegalTransition,
    Status,
    transition,
)


def test_guarded_transitions() -> None:
    assert transition(Status.PLACED, Status.SHIPPED) == Status.SHIPPED
    with pytest.raises(IllegalTransition):
        transition(Status.SHIPPED, Status.ACCEPTED)
    with pytest.raises(IllegalTransition):
        transition(Status.REJECTED, Status.SHIPPED)


def test_a_cancelled_order_a_supplier_would_not_stop_can_still_ship_and_nothing_else() -> None:
    assert transition(Status.CANCELLED, Status.SHIPPED) is Status.SHIPPED
    for target in (Status.PENDING, Status.PLACED, Status.ACCEPTED, Status.REJECTED):
        with pytest.raises(IllegalTransition):
            transition(Status.CANCELLED, target)


def test_needs_attention_is_reached_from_pending_only_and_left_three_ways() -> None:
    """Lookups that settle nothing: pending -> needs_attention; an operator or the
    supplier settles it: not placed (pending), placed, or cancelled (told if it has it)."""
    assert transition(Status.PENDING, Status.NEEDS_ATTENTION) is Status.NEEDS_ATTENTION
    for target in (Status.PENDING, Status.PLACED, Status.CANCELLED):
        assert transition(Status.NEEDS_ATTENTION, target) is target
    for target in (Status.ACCEPTED, Status.REJECTED, Status.SHIPPED):
        with pytest.raises(IllegalTransition):
            transition(Status.NEEDS_ATTENTION, target)
    for current in (Status.PLACED, Status.ACCEPTED, Status.SHIPPED, Status.CANCELLED):
        with pytest.raises(IllegalTransition):
            transition(current, Status.NEEDS_ATTENTION)
