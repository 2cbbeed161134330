"""Whether a supplier order is on time: its ship-by date is the placed day plus the
supplier's handling time in business days of its country; on the ship-by day itself it
is at risk, the day after it is overdue (days as the supplier's country counts them)."""

from __future__ import annotations

import datetime as dt
import enum

from dropship_common.business_days import local_date, ship_by


class Deadline(enum.StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"


def due_date(placed_at: dt.datetime, handling_days: int, country: str) -> dt.date:
    return ship_by(placed_at, handling_days, country)


def deadline(ship_by_date: dt.date, now: dt.datetime, country: str) -> Deadline:
    today = local_date(now, country.upper(), None)
    if today > ship_by_date:
        return Deadline.OVERDUE
    if today == ship_by_date:
        return Deadline.AT_RISK
    return Deadline.ON_TIME
