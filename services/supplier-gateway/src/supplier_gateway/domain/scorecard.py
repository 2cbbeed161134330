"""A supplier's record, from its supplier orders."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass

from dropship_common.business_days import local_date


@dataclass(frozen=True)
class OrderFacts:
    status: str
    placed_at: dt.datetime | None
    shipped_at: dt.datetime | None
    ship_by: dt.date | None
    reject_reason: str | None


@dataclass(frozen=True)
class Scorecard:
    orders: int
    acceptance_rate: float | None  # accepted or shipped, of those it decided on
    on_time_ship_rate: float | None  # shipped by the ship-by day, of those shipped
    median_handling_hours: float | None  # placed -> shipped
    rejections_by_reason: dict[str, int]


def scorecard(facts: list[OrderFacts], country: str) -> Scorecard:
    placed = [f for f in facts if f.placed_at is not None]
    decided = [f for f in placed if f.status in ("accepted", "shipped", "rejected")]
    shipped = [f for f in placed if f.status == "shipped" and f.shipped_at is not None]
    on_time = [
        f
        for f in shipped
        if f.ship_by is not None
        and f.shipped_at is not None
        and local_date(f.shipped_at, country, None) <= f.ship_by
    ]
    hours = [
        (f.shipped_at - f.placed_at).total_seconds() / 3600
        for f in shipped
        if f.shipped_at is not None and f.placed_at is not None
    ]
    return Scorecard(
        orders=len(placed),
        acceptance_rate=(
            round(sum(f.status != "rejected" for f in decided) / len(decided), 4)
            if decided
            else None
        ),
        on_time_ship_rate=round(len(on_time) / len(shipped), 4) if shipped else None,
        median_handling_hours=round(statistics.median(hours), 2) if hours else None,
        rejections_by_reason=dict(
            Counter(f.reject_reason or "other" for f in placed if f.status == "rejected")
        ),
    )
