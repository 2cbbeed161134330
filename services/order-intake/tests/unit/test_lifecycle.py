"""Order state machine, confirmation policy, payment window and ship-by date."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from dropship_testkit.payloads import PAYLOADS
from order_intake.domain.lifecycle import (
    ALLOWED_TRANSITIONS,
    Decision,
    IllegalTransition,
    OrderStatus,
    can_transition,
    decide,
    due_reminders,
    is_payment_secured,
    is_payment_window_over,
    payment_deadline,
    ship_by,
    transition,
)
from order_intake.domain.order import Buyer, CanonicalOrder, OrderLine, PaymentStatus, Platform
from order_intake.domain.validation import Assessment, Issue, check_order
from order_intake.storefronts import shopify

FIXTURES = PAYLOADS
S = OrderStatus
P = PaymentStatus
HOLD = Issue(code="missing_city", field="shipping_address.city", message="city is missing")
CLEAN = Assessment()
HELD = Assessment(holds=[HOLD])


def _order(payment: PaymentStatus = P.PAID, **changes: Any) -> CanonicalOrder:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    data: dict[str, Any] = {
        "platform": Platform.SHOPIFY,
        "external_id": "1",
        "currency": "USD",
        "total_price": Decimal("10"),
        "payment_status": payment,
        "buyer": Buyer(),
        "shipping_address": None,
        "lines": (OrderLine(sku="A", title="A", quantity=1, unit_price=Decimal("10")),),
        "placed_at": now,
        "source_updated_at": now,
    }
    data.update(changes)
    return CanonicalOrder(**data)


# --- payment secured -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payment", "accept_authorized", "secured"),
    [
        (P.PAID, False, True),
        (P.PARTIALLY_REFUNDED, False, True),
        (P.AUTHORIZED, True, True),
        (P.AUTHORIZED, False, False),
        (P.PENDING, True, False),
        (P.PARTIALLY_PAID, True, False),
        (P.REFUNDED, True, False),
        (P.VOIDED, True, False),
        (P.FAILED, True, False),
    ],
)
def test_is_payment_secured(payment: PaymentStatus, accept_authorized: bool, secured: bool) -> None:
    assert is_payment_secured(payment, accept_authorized) is secured


# --- decide for a new order ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "assessment", "status", "reason_codes"),
    [
        (_order(P.PAID), CLEAN, S.CONFIRMED, []),
        (_order(P.PAID), HELD, S.ON_HOLD, ["missing_city"]),
        (_order(P.AUTHORIZED), CLEAN, S.CONFIRMED, []),
        (_order(P.PENDING), CLEAN, S.AWAITING_PAYMENT, ["payment_not_secured"]),
        (_order(P.PENDING), HELD, S.AWAITING_PAYMENT, ["payment_not_secured"]),
        (_order(P.PARTIALLY_PAID), CLEAN, S.AWAITING_PAYMENT, ["payment_not_secured"]),
        (_order(P.FAILED), CLEAN, S.AWAITING_PAYMENT, ["payment_failed"]),
        (_order(P.REFUNDED), CLEAN, S.CANCELLED, ["payment_refunded"]),
        (_order(P.VOIDED), CLEAN, S.CANCELLED, ["payment_voided"]),
        (_order(P.PAID, cancelled=True), HELD, S.CANCELLED, ["cancelled_at_source"]),
    ],
)
def test_decide_new_order(
    order: CanonicalOrder, assessment: Assessment, status: OrderStatus, reason_codes: list[str]
) -> None:
    decision = decide(None, order, assessment)
    assert decision.status is status
    assert decision.transition is True
    assert [r.code for r in decision.reasons] == reason_codes


def test_decide_authorized_not_accepted_waits_for_payment() -> None:
    decision = decide(None, _order(P.AUTHORIZED), CLEAN, accept_authorized=False)
    assert decision.status is S.AWAITING_PAYMENT
    assert decision.reasons[0].details == {
        "payment_status": "authorized",
        "accept_authorized": False,
    }


def test_shopify_fixture_end_to_end_is_confirmed_when_catalogue_knows_the_skus() -> None:
    path = FIXTURES / "shopify" / "order.json"
    assert path.is_file(), path
    order = shopify.parse_order(json.dumps(json.loads(path.read_bytes())["order"]).encode())
    known = {"IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"}
    assert decide(None, order, check_order(order, known)).status is S.CONFIRMED
    held = decide(None, order, check_order(order, {"IPOD2008GREEN"}))
    assert held.status is S.ON_HOLD
    assert [r.code for r in held.reasons] == ["unknown_sku", "unknown_sku"]
    # manual capture shop that insists on captured payment: waits
    strict = decide(None, order, check_order(order, known), accept_authorized=False)
    assert strict.status is S.AWAITING_PAYMENT


# --- decide with a current status: the guards ----------------------------------------------


@pytest.mark.parametrize(
    ("current", "order", "assessment", "status", "moved"),
    [
        (S.AWAITING_PAYMENT, _order(P.PAID), CLEAN, S.CONFIRMED, True),
        (S.AWAITING_PAYMENT, _order(P.PAID), HELD, S.ON_HOLD, True),
        (S.AWAITING_PAYMENT, _order(P.PENDING), CLEAN, S.AWAITING_PAYMENT, False),
        (S.ON_HOLD, _order(P.PAID), CLEAN, S.CONFIRMED, True),
        (S.ON_HOLD, _order(P.PAID), HELD, S.ON_HOLD, False),
        (S.ON_HOLD, _order(P.PAID, cancelled=True), HELD, S.CANCELLED, True),
        # a storefront update never un-confirms
        (S.CONFIRMED, _order(P.PAID), HELD, S.CONFIRMED, False),
        (S.CONFIRMED, _order(P.PENDING), CLEAN, S.CONFIRMED, False),
        (S.CONFIRMED, _order(P.FAILED), CLEAN, S.CONFIRMED, False),
        (S.CONFIRMED, _order(P.PAID), CLEAN, S.CONFIRMED, False),
        # ...but a cancellation or a refund does
        (S.CONFIRMED, _order(P.PAID, cancelled=True), CLEAN, S.CANCELLED, True),
        (S.CONFIRMED, _order(P.REFUNDED), CLEAN, S.CANCELLED, True),
        (S.CONFIRMED, _order(P.VOIDED), CLEAN, S.CANCELLED, True),
        # cancelled is terminal
        (S.CANCELLED, _order(P.PAID), CLEAN, S.CANCELLED, False),
        (S.CANCELLED, _order(P.PENDING), HELD, S.CANCELLED, False),
        # later states are respected
        (S.HANDED_OFF, _order(P.PAID), HELD, S.HANDED_OFF, False),
        (S.HANDED_OFF, _order(P.PAID, cancelled=True), CLEAN, S.CANCELLED, True),
        (S.SHIPPED, _order(P.PAID, cancelled=True), CLEAN, S.SHIPPED, False),
        (S.DELIVERED, _order(P.REFUNDED), CLEAN, S.DELIVERED, False),
    ],
)
def test_decide_guards(
    current: OrderStatus,
    order: CanonicalOrder,
    assessment: Assessment,
    status: OrderStatus,
    moved: bool,
) -> None:
    decision = decide(current, order, assessment)
    assert decision.status is status
    assert decision.transition is moved


def test_holds_after_confirmation_are_reported_not_applied() -> None:
    decision = decide(S.CONFIRMED, _order(P.PAID), HELD)
    assert decision == Decision(status=S.CONFIRMED, reasons=decision.reasons, transition=False)
    assert [r.code for r in decision.reasons] == ["update_ignored"]
    assert decision.reasons[0].details == {"wanted": "on_hold", "ignored_reasons": ["missing_city"]}


def test_payment_lost_after_confirmation_is_flagged() -> None:
    decision = decide(S.CONFIRMED, _order(P.FAILED), CLEAN)
    assert [r.code for r in decision.reasons] == ["payment_lost_after_confirmation"]


def test_cancel_after_shipment_is_an_aftersales_case() -> None:
    decision = decide(S.SHIPPED, _order(P.PAID, cancelled=True), CLEAN)
    assert [r.code for r in decision.reasons] == ["cancel_after_shipment"]


def test_on_hold_refresh_carries_the_current_holds() -> None:
    other = Issue(code="invalid_postal_code", field="shipping_address.postal_code", message="x")
    decision = decide(S.ON_HOLD, _order(P.PAID), Assessment(holds=[other]))
    assert decision.transition is False
    assert [r.code for r in decision.reasons] == ["invalid_postal_code"]


# --- transition table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (None, S.AWAITING_PAYMENT),
        (None, S.CONFIRMED),
        (S.AWAITING_PAYMENT, S.CONFIRMED),
        (S.AWAITING_PAYMENT, S.CANCELLED),
        (S.ON_HOLD, S.CONFIRMED),
        (S.ON_HOLD, S.AWAITING_PAYMENT),
        (S.CONFIRMED, S.CANCELLED),
        (S.CONFIRMED, S.HANDED_OFF),
        (S.HANDED_OFF, S.SHIPPED),
        (S.SHIPPED, S.DELIVERED),
    ],
)
def test_legal_transitions(current: OrderStatus | None, target: OrderStatus) -> None:
    assert can_transition(current, target)
    assert transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CONFIRMED, S.ON_HOLD),
        (S.CONFIRMED, S.AWAITING_PAYMENT),
        (S.CANCELLED, S.CONFIRMED),
        (S.CANCELLED, S.AWAITING_PAYMENT),
        (S.CANCELLED, S.CANCELLED),
        (S.ON_HOLD, S.ON_HOLD),
        (S.AWAITING_PAYMENT, S.SHIPPED),
        (None, S.HANDED_OFF),
        (S.SHIPPED, S.CANCELLED),
        (S.DELIVERED, S.SHIPPED),
    ],
)
def test_illegal_transitions(current: OrderStatus | None, target: OrderStatus) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as info:
        transition(current, target)
    assert info.value.current == current
    assert info.value.target == target


def test_cancelled_and_delivered_are_terminal_and_table_is_complete() -> None:
    assert ALLOWED_TRANSITIONS[S.CANCELLED] == frozenset()
    assert ALLOWED_TRANSITIONS[S.DELIVERED] == frozenset()
    assert set(ALLOWED_TRANSITIONS) == {None, *OrderStatus}


# --- payment window ------------------------------------------------------------------------

PLACED = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_payment_deadline_default_twenty_days() -> None:
    assert payment_deadline(PLACED) == dt.datetime(2025, 3, 21, 12, 0, tzinfo=dt.UTC)
    assert payment_deadline(PLACED, 3) == dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "over"),
    [
        (dt.datetime(2025, 3, 21, 11, 59, tzinfo=dt.UTC), False),
        (dt.datetime(2025, 3, 21, 12, 0, tzinfo=dt.UTC), True),
        (dt.datetime(2025, 4, 1, tzinfo=dt.UTC), True),
    ],
)
def test_is_payment_window_over(now: dt.datetime, over: bool) -> None:
    assert is_payment_window_over(PLACED, now, 20) is over


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        payment_deadline(dt.datetime(2025, 3, 1), 20)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_payment_window_over(PLACED, dt.datetime(2025, 3, 30), 20)


@pytest.mark.parametrize(
    ("days_later", "already_sent", "due"),
    [
        (0.5, set(), []),
        (1, set(), [1]),
        (3.5, {1}, [3]),
        (3.5, set(), [1, 3]),  # after downtime: both due
        (10, {1, 3, 7}, []),
        (19, {1, 3}, [7]),
    ],
)
def test_due_reminders(days_later: float, already_sent: set[int], due: list[int]) -> None:
    now = PLACED + dt.timedelta(days=days_later)
    assert due_reminders(PLACED, now, [7, 3, 1, 3], already_sent) == due


# --- ship-by -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed_at", "days", "country", "expected"),
    [
        # Thu 2025-03-06 10:00 in Shanghai, +1 -> Fri; +2 -> Mon (weekend skipped); +3 -> Tue
        (dt.datetime(2025, 3, 6, 2, 0, tzinfo=dt.UTC), 1, "CN", dt.date(2025, 3, 7)),
        (dt.datetime(2025, 3, 6, 2, 0, tzinfo=dt.UTC), 2, "CN", dt.date(2025, 3, 10)),
        (dt.datetime(2025, 3, 6, 2, 0, tzinfo=dt.UTC), 3, "CN", dt.date(2025, 3, 11)),
        # Fri 2025-03-07 20:00 UTC is already Saturday 04:00 in China: +1 -> Mon
        (dt.datetime(2025, 3, 7, 20, 0, tzinfo=dt.UTC), 1, "CN", dt.date(2025, 3, 10)),
        # National Day 2024: Oct 1-7 off, Sat Oct 12 a make-up working day
        (dt.datetime(2024, 9, 30, 2, 0, tzinfo=dt.UTC), 1, "CN", dt.date(2024, 10, 8)),
        (dt.datetime(2024, 9, 30, 2, 0, tzinfo=dt.UTC), 3, "CN", dt.date(2024, 10, 10)),
        (dt.datetime(2024, 10, 11, 2, 0, tzinfo=dt.UTC), 1, "CN", dt.date(2024, 10, 12)),
        (dt.datetime(2024, 10, 3, 2, 0, tzinfo=dt.UTC), 0, "CN", dt.date(2024, 10, 8)),
        # Sunday Sep 29 2024 was a working day in China too
        (dt.datetime(2024, 9, 27, 2, 0, tzinfo=dt.UTC), 1, "CN", dt.date(2024, 9, 29)),
        # the same dates elsewhere: a normal week
        (dt.datetime(2024, 9, 30, 12, 0, tzinfo=dt.UTC), 1, "DE", dt.date(2024, 10, 1)),
        # Germany: Oct 3 (Unity Day) is a holiday
        (dt.datetime(2024, 10, 2, 12, 0, tzinfo=dt.UTC), 1, "DE", dt.date(2024, 10, 4)),
        # Christmas in the US: Wed Dec 25 2024
        (dt.datetime(2024, 12, 24, 15, 0, tzinfo=dt.UTC), 1, "US", dt.date(2024, 12, 26)),
    ],
)
def test_ship_by(confirmed_at: dt.datetime, days: int, country: str, expected: dt.date) -> None:
    assert ship_by(confirmed_at, days, country) == expected


def test_ship_by_default_country_is_china() -> None:
    assert ship_by(dt.datetime(2024, 9, 30, 2, 0, tzinfo=dt.UTC), 2) == dt.date(2024, 10, 9)


def test_ship_by_explicit_timezone() -> None:
    friday_evening_utc = dt.datetime(2025, 3, 7, 20, 0, tzinfo=dt.UTC)
    assert ship_by(friday_evening_utc, 1, "CN", tz="UTC") == dt.date(2025, 3, 10)
    assert ship_by(friday_evening_utc, 1, "DE", tz="Asia/Shanghai") == dt.date(2025, 3, 10)
    # Thursday evening UTC is Friday in Shanghai: +1 -> Monday, not Friday
    thursday_evening_utc = dt.datetime(2025, 3, 6, 20, 0, tzinfo=dt.UTC)
    assert ship_by(thursday_evening_utc, 1, "CN") == dt.date(2025, 3, 10)
    assert ship_by(thursday_evening_utc, 1, "CN", tz="UTC") == dt.date(2025, 3, 7)


def test_ship_by_unknown_calendar_falls_back_to_weekdays() -> None:
    saturday = dt.datetime(2025, 3, 8, 12, 0, tzinfo=dt.UTC)
    assert ship_by(saturday, 1, "XX") == dt.date(2025, 3, 10)


def test_ship_by_rejects_negative_days() -> None:
    with pytest.raises(ValueError, match="handling_days"):
        ship_by(PLACED, -1)
