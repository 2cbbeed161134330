import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from aftersales.domain.cases import CaseType as T
from aftersales.domain.policy import CaseFacts, Policy, Resolution, evaluate

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
D = Decimal
POLICY = Policy(
    refund_without_return_under={"EUR": D("20")},
    operator_approval_limit={"EUR": D("50")},
    auto_approve_under={"EUR": D("15")},
)


def facts(t: T, value: str = "40", **kw: object) -> CaseFacts:
    base: dict[str, object] = {
        "type": t,
        "currency": "EUR",
        "claimed_value": D(value),
        "refundable": D("100"),
        "reported_at": NOW,
        "evidence": frozenset({"photo"}),
        "delivered_at": NOW - dt.timedelta(days=3),
    }
    base.update(kw)
    return CaseFacts(**base)  # type: ignore[arg-type]


def test_lost_or_returned_picks_the_cheaper_of_reship_and_refund() -> None:
    reship = evaluate(facts(T.LOST, "40", reship_cost=D("18"), delivered_at=None), POLICY)
    assert (reship.resolution, reship.amount, reship.cost) == (Resolution.RESHIP, 0, D("18"))
    refund = evaluate(
        facts(T.RETURNED_TO_SENDER, "12", reship_cost=D("18"), delivered_at=None), POLICY
    )
    assert (refund.resolution, refund.amount) == (Resolution.REFUND, D("12"))
    assert "refund" in refund.rules[0]


def test_not_received_only_after_the_delivery_window() -> None:
    early = facts(
        T.NOT_DELIVERED_IN_TIME,
        delivered_at=None,
        window_closes_on=(NOW + dt.timedelta(days=5)).date(),
    )
    assert evaluate(early, POLICY).resolution == Resolution.WAIT
    late = facts(
        T.NOT_DELIVERED_IN_TIME,
        delivered_at=None,
        window_closes_on=(NOW - dt.timedelta(days=1)).date(),
    )
    assert evaluate(late, POLICY).resolution == Resolution.REFUND


def test_damage_needs_a_photo_and_a_report_within_the_window() -> None:
    no_photo = evaluate(facts(T.DAMAGED, evidence=frozenset()), POLICY)
    assert no_photo.resolution == Resolution.REQUEST_EVIDENCE
    assert no_photo.rules == ["damaged needs evidence: photo"]
    too_late = facts(T.DAMAGED, delivered_at=NOW - dt.timedelta(days=20))
    assert evaluate(too_late, POLICY).resolution == Resolution.REJECT


def test_small_damage_refunded_without_return_bigger_returned_first() -> None:
    small = evaluate(facts(T.DAMAGED, "15"), POLICY)
    assert (small.resolution, small.amount, small.auto_approve) == (
        Resolution.REFUND, D("15"), True,
    )  # fmt: skip
    big = evaluate(facts(T.DAMAGED, "45"), POLICY)
    assert (big.resolution, big.amount, big.auto_approve) == (
        Resolution.RETURN_THEN_REFUND, D("45"), False,
    )  # fmt: skip


def test_wrong_size_exchange_wrong_item_reship_and_keep_at_a_discount() -> None:
    assert evaluate(facts(T.WRONG_SIZE), POLICY).resolution == Resolution.EXCHANGE
    wrong = evaluate(facts(T.WRONG_ITEM, "40", reship_cost=D("10")), POLICY)
    assert (wrong.resolution, wrong.amount, wrong.cost) == (Resolution.RESHIP, D("12"), D("22"))


def test_delay_compensated_short_units_sent_customs_explained() -> None:
    delayed = evaluate(facts(T.DELAYED, "40"), POLICY)
    assert (delayed.resolution, delayed.amount) == (Resolution.COMPENSATION, D("4.00"))
    short = evaluate(facts(T.QUANTITY_SHORT, reship_cost=D("6")), POLICY)
    assert short.resolution == Resolution.SEND_MISSING
    customs = evaluate(facts(T.HELD_BY_CUSTOMS, delivered_at=None), POLICY)
    assert (customs.resolution, customs.cost) == (Resolution.EXPLAIN, 0)


def test_approval_by_role_and_never_more_than_refundable() -> None:
    big = evaluate(facts(T.LOST, "80", delivered_at=None), POLICY)
    assert big.approver == "admin" and any("operator's limit" in r for r in big.rules)
    capped = evaluate(facts(T.LOST, "80", delivered_at=None, refundable=D("30")), POLICY)
    assert (capped.amount, capped.approver) == (D("30"), "operator")
    assert any("capped" in r for r in capped.rules)
    usd = evaluate(facts(T.DELAYED, "40", currency="USD"), POLICY)
    assert usd.approver == "admin" and not usd.auto_approve  # no USD limits set


def test_evaluation_is_deterministic() -> None:
    one = facts(T.LOST, "40", reship_cost=D("18"), delivered_at=None)
    assert evaluate(one, POLICY) == evaluate(one, POLICY)


def test_a_policy_is_validated_data() -> None:
    assert Policy.model_validate_json(POLICY.model_dump_json()) == POLICY
    with pytest.raises(ValidationError):
        Policy(auto_approve_under={"euro": D("5")})
    with pytest.raises(ValidationError):
        Policy.model_validate({"refund_limit": 5})  # unknown field


def test_a_reship_is_estimated_from_the_suppliers_goods_cost_and_the_postage() -> None:
    from aftersales.domain.policy import reship_estimate

    policy = Policy(postage_estimate={"EUR": D("6")})
    # the case is 34 of an order of 44 whose goods cost the supplier 22: 17 + 6
    assert reship_estimate(policy, "EUR", D("34"), D("44"), D("22")) == D("23.00")
    assert reship_estimate(policy, "USD", D("34"), D("44"), D("22")) is None  # no postage
    assert reship_estimate(policy, "EUR", D("34"), D("44"), None) is None  # no cost known


def test_who_bears_a_case_and_a_return_the_buyer_asked_for() -> None:
    from aftersales.domain.policy import who_bears

    assert who_bears(Policy(), T.WRONG_ITEM) == "supplier"
    assert who_bears(Policy(), T.LOST) == "carrier"
    assert who_bears(Policy(), T.DELAYED) == "merchant"
    assert who_bears(Policy(borne_by={T.LOST: "merchant"}), T.LOST) == "merchant"
    unwanted = evaluate(facts(T.UNWANTED, "40"), POLICY)
    assert (unwanted.resolution, unwanted.amount) == (Resolution.RETURN_THEN_REFUND, D("40"))


def test_missing_units_are_sent_separately_later_or_refunded_as_the_policy_says() -> None:
    short = facts(T.QUANTITY_SHORT, "12", reship_cost=D("7"))
    sent = evaluate(short, POLICY)
    assert (sent.resolution, sent.cost) == (Resolution.SEND_MISSING, D("7"))
    refunded = evaluate(short, POLICY.model_copy(update={"missing_units": "refund"}))
    assert (refunded.resolution, refunded.amount) == (Resolution.REFUND, D("12"))
    later = evaluate(short, POLICY.model_copy(update={"missing_units": "next_order"}))
    assert later.resolution == Resolution.SEND_MISSING and "next order" in later.rules[0]
    with pytest.raises(ValidationError):
        Policy.model_validate({"missing_units": "someday"})
