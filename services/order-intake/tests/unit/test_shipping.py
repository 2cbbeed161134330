"""Shipping progress, the transitions tracking and supplier holds make,
and the buyer's "shipped" message."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from order_intake.domain.lifecycle import (
    CAUSED_TRANSITIONS,
    IllegalTransition,
    OrderStatus,
    ReasonCode,
    can_transition,
    decide,
    transition,
)
from order_intake.domain.order import Buyer, CanonicalOrder, OrderLine, PaymentStatus, Platform
from order_intake.domain.shipping import progress, shipping_target
from order_intake.domain.validation import Assessment, Issue
from order_intake.messages.templates import SHIPPED_REST, parcels_text, render

S = OrderStatus
A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SUPPLIER_HOLD = Issue(code="supplier_rejected", message="the supplier rejected the order")


def _order() -> CanonicalOrder:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return CanonicalOrder(
        platform=Platform.SHOPIFY,
        external_id="1",
        currency="USD",
        total_price=Decimal("10"),
        payment_status=PaymentStatus.PAID,
        buyer=Buyer(),
        shipping_address=None,
        lines=(OrderLine(sku="A", title="A", quantity=1, unit_price=Decimal("10")),),
        placed_at=now,
        source_updated_at=now,
    )


# --- progress ------------------------------------------------------------------------------


def test_some_lines_covered_is_partial_and_all_is_shipped() -> None:
    partial = progress([A, B, C], [[A], [B]])
    assert partial.status is S.PARTIALLY_SHIPPED
    assert partial.missing == {C} and not partial.complete
    assert progress([A, B, C], [[A], [B, C]]).status is S.SHIPPED


def test_lines_of_other_orders_and_repeats_do_not_count() -> None:
    shipped = progress([A, B], [[A, A], [uuid.uuid4()]])
    assert shipped.covered == {A} and shipped.missing == {B}


def test_an_order_with_nothing_to_ship_is_shipped() -> None:
    assert progress([], [[A]]).complete


@pytest.mark.parametrize(
    ("current", "covered", "target"),
    [
        (S.CONFIRMED, [[A]], S.PARTIALLY_SHIPPED),
        (S.CONFIRMED, [[A, B]], S.SHIPPED),
        (S.HANDED_OFF, [[A]], S.PARTIALLY_SHIPPED),
        (S.PARTIALLY_SHIPPED, [[A], [B]], S.SHIPPED),
        (S.PARTIALLY_SHIPPED, [[A]], None),  # still partial: no move
        (S.SHIPPED, [[A, B]], None),
        (S.ON_HOLD, [[A]], None),  # held for a decision: it stays held
        (S.CANCELLED, [[A, B]], None),
        (S.DELIVERED, [[A, B]], None),
    ],
)
def test_shipping_target(
    current: OrderStatus, covered: list[list[uuid.UUID]], target: OrderStatus | None
) -> None:
    assert shipping_target(current, progress([A, B], covered)) is target


# --- transitions ------------------------------------------------------------------------------


def test_confirmed_goes_on_hold_only_for_a_supplier_rejection() -> None:
    assert not can_transition(S.CONFIRMED, S.ON_HOLD)
    assert not can_transition(S.CONFIRMED, S.ON_HOLD, because="missing_city")
    assert can_transition(S.CONFIRMED, S.ON_HOLD, because=ReasonCode.SUPPLIER_REJECTED)
    assert transition(S.CONFIRMED, S.ON_HOLD, because="supplier_rejected") is S.ON_HOLD
    with pytest.raises(IllegalTransition):
        transition(S.SHIPPED, S.ON_HOLD, because="supplier_rejected")
    with pytest.raises(IllegalTransition):
        transition(None, S.SHIPPED, because="supplier_rejected")
    assert set(CAUSED_TRANSITIONS) == {(S.CONFIRMED, S.ON_HOLD)}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CONFIRMED, S.PARTIALLY_SHIPPED),
        (S.CONFIRMED, S.SHIPPED),
        (S.PARTIALLY_SHIPPED, S.SHIPPED),
    ],
)
def test_tracking_moves_are_allowed(current: OrderStatus, target: OrderStatus) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SHIPPED, S.PARTIALLY_SHIPPED),
        (S.PARTIALLY_SHIPPED, S.CONFIRMED),
        (S.PARTIALLY_SHIPPED, S.CANCELLED),
        (S.AWAITING_PAYMENT, S.PARTIALLY_SHIPPED),
    ],
)
def test_shipping_moves_back_or_from_open_states_are_not(
    current: OrderStatus, target: OrderStatus
) -> None:
    assert not can_transition(current, target)


def test_a_supplier_hold_survives_a_clean_storefront_version() -> None:
    d = decide(S.ON_HOLD, _order(), Assessment(), kept_holds=[SUPPLIER_HOLD])
    assert (d.status, d.transition) == (S.ON_HOLD, False)
    assert [r.code for r in d.reasons] == ["supplier_rejected"]


def test_a_supplier_hold_keeps_other_holds_with_it() -> None:
    other = Issue(code="missing_city", field="shipping_address.city", message="city is missing")
    d = decide(S.ON_HOLD, _order(), Assessment(holds=[other]), kept_holds=[SUPPLIER_HOLD])
    assert [r.code for r in d.reasons] == ["supplier_rejected", "missing_city"]


def test_a_held_order_cancelled_at_the_source_is_cancelled() -> None:
    cancelled = _order().model_copy(update={"cancelled": True})
    d = decide(S.ON_HOLD, cancelled, Assessment(), kept_holds=[SUPPLIER_HOLD])
    assert (d.status, d.transition) == (S.CANCELLED, True)


def test_without_kept_holds_a_clean_order_is_released() -> None:
    assert decide(S.ON_HOLD, _order(), Assessment()).status is S.CONFIRMED


# --- the buyer's message ----------------------------------------------------------------------

PARCELS = [
    {"carrier": "China Post", "tracking_number": "RR123456785CN", "tracking_url": "https://t/1"},
    {"carrier": "China Post", "tracking_number": "LX123456785CN", "tracking_url": "https://t/2"},
]


def test_shipped_message_in_english_lists_each_parcel() -> None:
    subject, body, lang = render(
        "order_shipped",
        "en-GB",
        {
            "name": "Bob",
            "number": "#1001",
            "shop": "Test Shop",
            "parcels": parcels_text("en", PARCELS),
            "rest": "",
            "help": "",
        },
    )
    assert (subject, lang) == ("Your order #1001 has shipped", "en")
    assert body.startswith("Dear Bob,")
    assert "Carrier: China Post\nTracking number: RR123456785CN\nTrack it: https://t/1" in body
    assert "Tracking number: LX123456785CN\nTrack it: https://t/2" in body
    assert "$" not in body and body.endswith("Test Shop")


def test_shipped_message_in_chinese_says_more_follows_when_partial() -> None:
    subject, body, lang = render(
        "order_shipped",
        "zh-CN",
        {
            "name": "王芳",
            "number": "#1002",
            "shop": "小店",
            "parcels": parcels_text("zh-CN", PARCELS[:1]),
            "rest": SHIPPED_REST["zh"],
        },
    )
    assert (subject, lang) == ("您的订单 #1002 已发货", "zh")
    lines = "物流公司：China Post\n物流单号：RR123456785CN\n查询链接：https://t/1"  # noqa: RUF001
    assert lines in body
    assert "其余商品将另行发货" in body and "LX123456785CN" not in body


def test_shipped_message_falls_back_to_english() -> None:
    assert parcels_text("fr", PARCELS[:1]).startswith("Carrier: China Post")
    assert render("order_shipped", "fr", {"parcels": "", "rest": ""})[2] == "en"
