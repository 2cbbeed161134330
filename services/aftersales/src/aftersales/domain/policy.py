"""A shop's aftersales policy as data, and the pure evaluation that proposes how a case
is resolved (DOMAIN.md's case table).

:class:`Policy` is JSON, validated and versioned (kept per shop, edited by API);
:func:`evaluate` is deterministic: the same facts and policy always give the same
:class:`Proposal`, which lists the rules that fired and the amounts. Money is
``Decimal`` in the order's ISO 4217 currency; nothing is converted here.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aftersales.domain.cases import CaseType

CENT = Decimal("0.01")
_T = CaseType


class Resolution(enum.StrEnum):
    REFUND = "refund"  # money back, nothing returned
    RETURN_THEN_REFUND = "return_then_refund"  # an RMA; refunded on arrival
    RESHIP = "reship"  # a new supplier order for the lines
    EXCHANGE = "exchange"  # another variant sent (the return optional)
    COMPENSATION = "compensation"  # a partial refund or a discount code
    SEND_MISSING = "send_missing"  # the missing units, now or with the next order
    REQUEST_EVIDENCE = "request_evidence"  # ask the buyer (a photo …) first
    WAIT = "wait"  # too early (the delivery window is still open)
    EXPLAIN = "explain"  # nothing to pay or send: tell the buyer what to do
    REJECT = "reject"  # outside the policy (a claim window passed)


Evidence = Literal["photo", "video", "tracking", "receipt"]
Party = Literal["supplier", "merchant", "carrier"]

# who bears a resolution's cost by default: the supplier for what it packed wrong or
# badly, the carrier for a parcel it lost (a claim), the merchant for the rest
DEFAULT_BORNE_BY: dict[CaseType, Party] = {
    _T.WRONG_ITEM: "supplier",
    _T.QUANTITY_SHORT: "supplier",
    _T.DAMAGED: "supplier",
    _T.WRONG_SIZE: "supplier",
    _T.NOT_AS_DESCRIBED: "supplier",
    _T.LOST: "carrier",
}


class Policy(BaseModel):
    """Per shop. Amounts per currency (``{"EUR": "20"}``); a currency not listed has
    no such allowance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(default=1, ge=1)
    evidence: dict[CaseType, list[Evidence]] = Field(
        default_factory=lambda: {
            t: list[Evidence](["photo"])
            for t in (_T.DAMAGED, _T.WRONG_ITEM, _T.NOT_AS_DESCRIBED, _T.QUANTITY_SHORT)
        },
        description="what the buyer must send per case type before a proposal",
    )
    damage_report_days: int = Field(default=14, ge=0, le=365)
    quality_claim_days: int = Field(default=30, ge=0, le=365)
    refund_without_return_under: dict[str, Decimal] = Field(default_factory=dict)
    reship_when_cheaper: bool = True
    keep_item_discount_percent: Decimal = Field(default=Decimal("30"), ge=0, le=100)
    delay_compensation_percent: Decimal = Field(default=Decimal("10"), ge=0, le=100)
    # sent separately, with the buyer's next order (postage saved; sent separately
    # after next_order_wait_days by an agent), or refunded
    missing_units: Literal["separately", "next_order", "refund"] = "separately"
    next_order_wait_days: int = Field(default=30, ge=1, le=180)
    # an exchange for a dearer variant: days the buyer has to pay the difference (by the
    # storefront's payment link) before the case goes back to an agent
    payment_wait_days: int = Field(default=14, ge=1, le=90)
    operator_approval_limit: dict[str, Decimal] = Field(default_factory=dict)
    auto_approve_under: dict[str, Decimal] = Field(default_factory=dict)
    postage_estimate: dict[str, Decimal] = Field(
        default_factory=dict,
        description="what sending a parcel again costs, per currency (a reship's postage)",
    )
    compensation_as: Literal["refund", "discount_code"] = Field(
        default="refund", description="a compensation paid back, or as a single-use code"
    )
    exchange_needs_return: bool = Field(
        default=False, description="an exchange waits for the wrong size to come back"
    )
    return_address: str | None = Field(
        default=None,
        max_length=500,
        description="where returns go (the merchant's or the supplier's), for the RMA",
    )
    borne_by: dict[CaseType, Party] = Field(
        default_factory=lambda: dict(DEFAULT_BORNE_BY),
        description="who bears each case type's cost; a type not listed: the merchant",
    )

    @field_validator(
        "refund_without_return_under",
        "operator_approval_limit",
        "auto_approve_under",
        "postage_estimate",
    )
    @classmethod
    def _currencies(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise ValueError(f"{currency!r}: an ISO 4217 code (EUR, USD, …)")
            if amount < 0:
                raise ValueError(f"{currency}: an amount of zero or more")
        return value


def who_bears(policy: Policy, type_: CaseType) -> Party:
    return policy.borne_by.get(type_, "merchant")


def reship_estimate(
    policy: Policy,
    currency: str,
    claimed_value: Decimal,
    order_value: Decimal,
    goods_cost: Decimal | None,
) -> Decimal | None:
    """Goods (the supplier's cost of the order, the case's share of it) plus postage
    (the policy's estimate); None when either is unknown in the order's currency."""
    postage = policy.postage_estimate.get(currency)
    if goods_cost is None or postage is None or order_value <= 0:
        return None
    share = (goods_cost * claimed_value / order_value).quantize(CENT, rounding=ROUND_HALF_UP)
    return share + postage


@dataclass(frozen=True)
class CaseFacts:
    type: CaseType
    currency: str
    claimed_value: Decimal  # the case's lines at the price paid
    refundable: Decimal  # what the order still has refundable (storefront and ledger)
    reported_at: dt.datetime
    evidence: frozenset[str] = frozenset()
    delivered_at: dt.datetime | None = None
    window_closes_on: dt.date | None = None  # the parcel's delivery window
    reship_cost: Decimal | None = None  # goods cost + postage, when known


@dataclass(frozen=True)
class Proposal:
    resolution: Resolution
    currency: str
    amount: Decimal  # money to the buyer (a refund, a compensation)
    cost: Decimal  # what it costs in all (the refund, or the reship)
    approver: Literal["operator", "admin"]
    auto_approve: bool
    rules: list[str] = field(default_factory=list)


def _pct(value: Decimal, percent: Decimal) -> Decimal:
    return (value * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def evaluate(facts: CaseFacts, policy: Policy) -> Proposal:
    rules: list[str] = []
    resolution, amount, cost = _decide(facts, policy, rules)
    if amount > facts.refundable:
        rules.append(f"capped at what is still refundable ({facts.refundable} {facts.currency})")
        amount = max(Decimal(0), facts.refundable)
        cost = max(cost, amount) if resolution != Resolution.RESHIP else cost
    if resolution in (Resolution.REFUND, Resolution.RETURN_THEN_REFUND, Resolution.COMPENSATION):
        cost = amount
    limit = policy.operator_approval_limit.get(facts.currency)
    approver: Literal["operator", "admin"] = "operator"
    if cost > 0 and (limit is None or cost > limit):
        approver = "admin"
        rules.append(
            f"above the operator's limit ({limit} {facts.currency}): an admin approves"
            if limit is not None
            else f"no operator limit in {facts.currency}: an admin approves"
        )
    auto_limit = policy.auto_approve_under.get(facts.currency)
    payable = resolution not in (
        Resolution.REQUEST_EVIDENCE,
        Resolution.WAIT,
        Resolution.EXPLAIN,
        Resolution.REJECT,
    )
    auto = payable and auto_limit is not None and cost <= auto_limit
    if auto:
        rules.append(f"under the shop's auto-approve limit ({auto_limit} {facts.currency})")
    return Proposal(resolution, facts.currency, amount, cost, approver, auto, rules)


def _decide(
    facts: CaseFacts, policy: Policy, rules: list[str]
) -> tuple[Resolution, Decimal, Decimal]:
    t, value, zero = facts.type, facts.claimed_value, Decimal(0)
    missing = [e for e in policy.evidence.get(t, []) if e not in facts.evidence]
    if missing:
        rules.append(f"{t} needs evidence: {', '.join(missing)}")
        return Resolution.REQUEST_EVIDENCE, zero, zero

    if facts.delivered_at is not None:
        days = (facts.reported_at - facts.delivered_at).days
        window = {
            _T.DAMAGED: policy.damage_report_days,
            _T.WRONG_ITEM: policy.quality_claim_days,
            _T.NOT_AS_DESCRIBED: policy.quality_claim_days,
            _T.WRONG_SIZE: policy.quality_claim_days,
            _T.QUANTITY_SHORT: policy.quality_claim_days,
        }.get(t)
        if window is not None and days > window:
            rules.append(f"reported {days} days after delivery; the window is {window} days")
            return Resolution.REJECT, zero, zero

    if t in (_T.LOST, _T.NOT_DELIVERED_IN_TIME, _T.RETURNED_TO_SENDER):
        if (
            t == _T.NOT_DELIVERED_IN_TIME
            and facts.window_closes_on is not None
            and facts.reported_at.date() <= facts.window_closes_on
        ):
            rules.append(f"the delivery window is open until {facts.window_closes_on}")
            return Resolution.WAIT, zero, zero
        cheaper = (
            policy.reship_when_cheaper
            and facts.reship_cost is not None
            and facts.reship_cost < value
        )
        if cheaper:
            assert facts.reship_cost is not None
            rules.append(f"reship ({facts.reship_cost}) is cheaper than a refund ({value}): reship")
            return Resolution.RESHIP, zero, facts.reship_cost
        rules.append(
            f"a refund ({value}) is not dearer than a reship"
            f" ({facts.reship_cost if facts.reship_cost is not None else 'unknown'}): refund"
        )
        return Resolution.REFUND, value, value

    if t in (_T.DAMAGED, _T.NOT_AS_DESCRIBED):
        under = policy.refund_without_return_under.get(facts.currency)
        if under is not None and value <= under:
            rules.append(f"{value} is under the no-return limit ({under}): refund, keep it")
            return Resolution.REFUND, value, value
        rules.append("returned, then refunded on arrival")
        return Resolution.RETURN_THEN_REFUND, value, value

    if t == _T.WRONG_SIZE:
        rules.append("wrong size: exchange for the right variant")
        return Resolution.EXCHANGE, zero, facts.reship_cost or zero

    if t == _T.WRONG_ITEM:
        discount = _pct(value, policy.keep_item_discount_percent)
        rules.append(
            f"the right item reshipped; the wrong one kept at"
            f" {policy.keep_item_discount_percent}% off ({discount})"
        )
        return Resolution.RESHIP, discount, (facts.reship_cost or zero) + discount

    if t == _T.QUANTITY_SHORT:
        if policy.missing_units == "refund" or facts.reship_cost is None:
            rules.append(
                "missing units refunded"
                + ("" if policy.missing_units == "refund" else " (no shipping estimate)")
            )
            return Resolution.REFUND, value, value
        rules.append(
            f"missing units sent with the buyer's next order (separately after"
            f" {policy.next_order_wait_days} days)"
            if policy.missing_units == "next_order"
            else "missing units sent separately"
        )
        return Resolution.SEND_MISSING, zero, facts.reship_cost

    if t == _T.DELAYED:
        compensation = _pct(value, policy.delay_compensation_percent)
        rules.append(f"delay: {policy.delay_compensation_percent}% back ({compensation})")
        return Resolution.COMPENSATION, compensation, compensation

    if t == _T.CANCELLATION_AFTER_HANDOFF:
        rules.append("shipped already: handled as a return on arrival")
        return Resolution.RETURN_THEN_REFUND, value, value

    if t == _T.UNWANTED:
        rules.append("a return the buyer asked for: refunded when it arrives")
        return Resolution.RETURN_THEN_REFUND, value, value

    # held by customs; an address change after hand-off (intercepted where the carrier
    # can, else explained): nothing to pay from the policy
    rules.append(
        "the buyer contacts customs; the shop supplies the invoice"
        if t == _T.HELD_BY_CUSTOMS
        else "intercept and re-send if the carrier can; otherwise explain to the buyer"
    )
    return Resolution.EXPLAIN, zero, zero
