"""Duty / VAT thresholds per destination, as data with an effective date.

The declaration always carries the true transaction value; these thresholds only say
whether the buyer is likely to pay duty or VAT at the door. Rules change often: add a
row with a new ``effective_from`` rather than editing an old one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

_EU_MEMBERS = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
EU = frozenset(_EU_MEMBERS.split())


@dataclass(frozen=True)
class Threshold:
    countries: frozenset[str]
    currency: str
    amount: Decimal  # at or below: the rule below applies; above: duty may be due
    effective_from: dt.date
    rule: str


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        EU,
        "EUR",
        Decimal("150"),
        dt.date(2021, 7, 1),
        "EU IOSS: VAT from the first euro; customs duty above EUR 150",
    ),
    Threshold(
        frozenset({"GB"}),
        "GBP",
        Decimal("135"),
        dt.date(2021, 1, 1),
        "UK: VAT collected at sale up to GBP 135; above, VAT and duty at import",
    ),
    Threshold(
        frozenset({"AU"}),
        "AUD",
        Decimal("1000"),
        dt.date(2018, 7, 1),
        "Australia: GST at sale up to AUD 1000; above, duty and GST at import",
    ),
    Threshold(
        frozenset({"US"}), "USD", Decimal("800"), dt.date(2016, 3, 10), "US de minimis USD 800"
    ),
    Threshold(
        frozenset({"US"}),
        "USD",
        Decimal("0"),
        dt.date(2025, 8, 29),
        "US: de minimis suspended; duty may be due on every parcel",
    ),
)


@dataclass(frozen=True)
class Assessment:
    rule: str | None
    threshold: Decimal | None
    threshold_currency: str | None
    crossed: bool | None  # None: no rule, or another currency (no conversion here)


def assess(country: str, value: Decimal, currency: str, on: dt.date) -> Assessment:
    rules = [t for t in THRESHOLDS if country in t.countries and t.effective_from <= on]
    if not rules:
        return Assessment(None, None, None, None)
    rule = max(rules, key=lambda t: t.effective_from)
    crossed = value > rule.amount if currency == rule.currency else None
    return Assessment(rule.rule, rule.amount, rule.currency, crossed)
