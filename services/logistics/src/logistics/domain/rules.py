"""DOMAIN.md's "Follow the parcel" and "Delivery window" as pure decisions.

:func:`review` looks at one parcel at ``now`` and says what is due: the follow-up (7
days after shipping for express, 30 for postal), ``stalled`` (no new scan for that
long), ``presumed_lost`` (no scan for 40 days, except on routes known to go silent
after leaving China: there the buyer is told to ask the local post office and the
window is extended), and the delivery window's extension before it closes (at most to
120 days after shipping). A buyer's return to the shop (``return_parcel``) has no
follow-up and no window extension (both are news for the buyer, who sent it); it is
still reported stalled and presumed lost, for the operators' worklist. It also says
when the parcel must be looked at again, so the rules sweep reads only due parcels.
:func:`next_poll_in` is the adaptive polling interval. Each shop may change the
numbers (:class:`FollowUpPolicy`).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from logistics.domain.carriers import CarrierClass
from logistics.domain.status import FINAL, ParcelStatus

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class FollowUpPolicy:
    express_follow_up_days: int = 7
    postal_follow_up_days: int = 30
    lost_after_days: int = 40
    max_window_days: int = 120
    extension_days: int = 15  # each extension of the delivery window
    extend_before_days: int = 3  # extend this long before the window closes

    def follow_up_days(self, carrier_class: CarrierClass) -> int:
        if carrier_class == CarrierClass.EXPRESS:
            return self.express_follow_up_days
        return self.postal_follow_up_days


@dataclass(frozen=True)
class TransitDays:
    """Expected transit from shipping to the door, per carrier class and destination."""

    min_days: int
    max_days: int


DEFAULT_TRANSIT: dict[CarrierClass, TransitDays] = {
    CarrierClass.EXPRESS: TransitDays(4, 12),
    CarrierClass.POSTAL: TransitDays(12, 40),
}


def delivery_window(shipped_at: dt.datetime, transit: TransitDays) -> tuple[dt.date, dt.date]:
    """The expected delivery window (first day, last day) of a parcel shipped then."""
    shipped = shipped_at.date()
    return shipped + dt.timedelta(days=transit.min_days), shipped + dt.timedelta(
        days=transit.max_days
    )


@dataclass(frozen=True)
class ParcelFacts:
    status: ParcelStatus
    carrier_class: CarrierClass
    shipped_at: dt.datetime
    last_scan_at: dt.datetime | None  # the carrier's newest scan
    window_closes_on: dt.date
    estimated_delivery: dt.date | None = None  # the provider's estimate
    silent_route: bool = False  # postal air to a country known to lose tracking
    followed_up: bool = False
    stalled: bool = False  # already reported stalled since the last scan
    presumed_lost: bool = False
    silent_route_told: bool = False
    return_parcel: bool = False  # the buyer's return: nothing for the buyer


class Due(enum.StrEnum):
    FOLLOW_UP = "follow_up"  # status update to the buyer (7 / 30 days)
    STALLED = "stalled"  # no scan for the follow-up period
    SILENT_ROUTE = "silent_route"  # 40 days silent on a route that loses tracking
    PRESUMED_LOST = "presumed_lost"  # 40 days without tracking information
    EXTEND_WINDOW = "extend_window"


@dataclass(frozen=True)
class Review:
    due: list[Due] = field(default_factory=list)
    window_closes_on: dt.date | None = None  # the new last day, when extended
    next_review_at: dt.datetime | None = None  # None: nothing more to watch


def _at(day: dt.date, like: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=like.tzinfo or dt.UTC)


def review(facts: ParcelFacts, policy: FollowUpPolicy, now: dt.datetime) -> Review:
    if facts.status in FINAL:
        return Review()
    due: list[Due] = []
    follow_up = policy.follow_up_days(facts.carrier_class) * DAY
    silent_since = facts.last_scan_at or facts.shipped_at
    silence = now - silent_since
    lost_after = policy.lost_after_days * DAY
    window_end_cap = facts.shipped_at.date() + policy.max_window_days * DAY
    candidates: list[dt.datetime] = []

    if not facts.followed_up and not facts.return_parcel:
        if now >= facts.shipped_at + follow_up:
            due.append(Due.FOLLOW_UP)
        else:
            candidates.append(facts.shipped_at + follow_up)

    if not facts.stalled:
        if silence >= follow_up:
            due.append(Due.STALLED)
        else:
            candidates.append(silent_since + follow_up)

    if not facts.presumed_lost:
        if facts.silent_route:
            if not facts.silent_route_told:
                if silence >= lost_after:
                    due.append(Due.SILENT_ROUTE)
                else:
                    candidates.append(silent_since + lost_after)
            # silence alone is no proof of loss there: only once the longest window ends
            cap = _at(window_end_cap, now)
            if silence >= lost_after and now >= cap:
                due.append(Due.PRESUMED_LOST)
            else:
                candidates.append(max(cap, silent_since + lost_after))
        elif silence >= lost_after:
            due.append(Due.PRESUMED_LOST)
        else:
            candidates.append(silent_since + lost_after)

    new_close: dt.date | None = None
    closes = facts.window_closes_on
    if closes < window_end_cap and not facts.return_parcel:
        late_estimate = facts.estimated_delivery is not None and facts.estimated_delivery > closes
        closing = now.date() >= closes - policy.extend_before_days * DAY
        if late_estimate or closing or Due.SILENT_ROUTE in due:
            # from today when the sweep comes late (a window is never left closed)
            wanted = max(closes, now.date()) + policy.extension_days * DAY
            if facts.estimated_delivery is not None:
                wanted = max(wanted, facts.estimated_delivery + policy.extend_before_days * DAY)
            new_close = min(wanted, window_end_cap)
            due.append(Due.EXTEND_WINDOW)
            closes = new_close
        if closes < window_end_cap:
            candidates.append(_at(closes - policy.extend_before_days * DAY, now))

    future = [c for c in candidates if c > now]
    next_at = min(future) if future else None
    if next_at is None and (facts.silent_route or not facts.presumed_lost):
        next_at = now + DAY  # keep an eye on it until it ends
    return Review(due=due, window_closes_on=new_close, next_review_at=next_at)


# -- polling ----------------------------------------------------------------------------


def next_poll_in(
    status: ParcelStatus,
    *,
    shipped_at: dt.datetime,
    last_scan_at: dt.datetime | None,
    last_push_at: dt.datetime | None,
    estimated_delivery: dt.date | None,
    now: dt.datetime,
    has_push: bool = True,
) -> dt.timedelta | None:
    """How long until the parcel is polled again; None after a final status. Often
    right after shipping and near delivery, rarely in long transit, almost never while
    the provider's pushes arrive (polling is then only the safety net)."""
    if status in FINAL:
        return None
    if has_push and last_push_at is not None and now - last_push_at < 3 * DAY:
        return 3 * DAY
    near_door = status in {
        ParcelStatus.OUT_FOR_DELIVERY,
        ParcelStatus.AVAILABLE_FOR_PICKUP,
        ParcelStatus.DELIVERY_FAILED,
    }
    if near_door or (estimated_delivery is not None and estimated_delivery - now.date() <= 2 * DAY):
        return 2 * HOUR
    if now - shipped_at < 3 * DAY or status in {ParcelStatus.PENDING, ParcelStatus.INFO_RECEIVED}:
        return 4 * HOUR
    if status == ParcelStatus.IN_CUSTOMS:
        return 6 * HOUR
    if last_scan_at is not None and now - last_scan_at > 7 * DAY:
        return 24 * HOUR
    return 12 * HOUR
