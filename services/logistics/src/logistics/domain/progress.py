"""What a provider's report (a poll's or a push's :class:`Snapshot`) changes on a
parcel: pure, deterministic, safe to apply twice or out of order.

* Scans are deduplicated by :func:`scan_key` (time, provider status, words, place):
  the same scan arriving again adds nothing.
* The status moves only forward (:func:`~logistics.domain.status.moves_forward`) and
  only on news: a report whose newest scan is older than the scan that set the current
  status is history. A burst of catch-up scans gives one change, to the newest status.
* The buyer hears of a change once per kind and per parcel (customs, out for delivery,
  delivered …), and not of stale ones: a scan older than :data:`FRESH` is not news to
  the buyer, except delivery (always told once).
* A carrier the provider detected or corrected replaces ours unless an operator set it.
* A buyer's return under a number already followed (the carrier's return label) takes
  no status or last scan from the scans up to ``history_until``: they are the earlier
  journey's, whose "delivered" is not the return's arrival. They stay on the timeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from logistics.domain.carriers import CarrierSource
from logistics.domain.status import ParcelStatus, moves_forward

FRESH = dt.timedelta(hours=48)

BUYER_NOTICES: dict[ParcelStatus, str] = {
    ParcelStatus.IN_CUSTOMS: "customs",
    ParcelStatus.OUT_FOR_DELIVERY: "out_for_delivery",
    ParcelStatus.AVAILABLE_FOR_PICKUP: "available_for_pickup",
    ParcelStatus.DELIVERY_FAILED: "delivery_failed",
    ParcelStatus.DELIVERED: "delivered",
}


@dataclass(frozen=True)
class Scan:
    occurred_at: dt.datetime
    status: ParcelStatus
    provider_status: str
    description: str
    location: str | None = None


def scan_key(scan: Scan) -> str:
    raw = "|".join(
        (
            scan.occurred_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            scan.provider_status,
            " ".join(scan.description.split()).lower(),
            (scan.location or "").strip().lower(),
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ParcelState:
    status: ParcelStatus
    status_at: dt.datetime | None
    last_scan_at: dt.datetime | None
    carrier: str | None
    carrier_source: CarrierSource
    notices: frozenset[str] = frozenset()
    history_until: dt.datetime | None = None  # scans up to here: an earlier journey


@dataclass(frozen=True)
class Report:
    """A snapshot, provider-neutral."""

    status: ParcelStatus
    provider_status: str
    scans: Sequence[Scan]
    carrier: str | None = None
    estimated_delivery: dt.date | None = None


@dataclass(frozen=True)
class Progress:
    new_scans: list[tuple[str, Scan]] = field(default_factory=list)  # (key, scan)
    status: ParcelStatus | None = None  # the new status, when it changed
    previous_status: ParcelStatus | None = None
    status_scan: Scan | None = None  # the scan behind the change
    last_scan_at: dt.datetime | None = None  # newer than before, when it moved
    buyer_notice: str | None = None
    carrier: str | None = None  # corrected carrier, when it changed


def progress(
    state: ParcelState, report: Report, known_keys: Iterable[str], now: dt.datetime
) -> Progress:
    known = set(known_keys)
    fresh: list[tuple[str, Scan]] = []
    for scan in sorted(report.scans, key=lambda s: s.occurred_at):
        key = scan_key(scan)
        if key not in known:
            known.add(key)
            fresh.append((key, scan))

    until = state.history_until
    own = [s for s in report.scans if until is None or s.occurred_at > until]
    newest = max(own, key=lambda s: s.occurred_at, default=None)
    last_scan_at = None
    if newest is not None and (
        state.last_scan_at is None or newest.occurred_at > state.last_scan_at
    ):
        last_scan_at = newest.occurred_at

    status: ParcelStatus | None = None
    status_scan: Scan | None = None
    notice: str | None = None
    # the provider's own summary is the report's status; its time is the newest scan's
    at = newest.occurred_at if newest is not None else None
    is_news = at is None or state.status_at is None or at > state.status_at
    if at is None and (state.status_at is not None or until is not None):
        is_news = False  # a summary without any (recent) scan says nothing newer
    if is_news and moves_forward(state.status, report.status):
        status = report.status
        status_scan = newest or Scan(now, report.status, report.provider_status, "")
        kind = BUYER_NOTICES.get(status)
        stale = now - status_scan.occurred_at > FRESH
        if kind and kind not in state.notices and (not stale or kind == "delivered"):
            notice = kind

    carrier = None
    if (
        report.carrier
        and report.carrier != state.carrier
        and state.carrier_source != CarrierSource.OPERATOR
    ):
        carrier = report.carrier
    return Progress(
        new_scans=fresh,
        status=status,
        previous_status=state.status if status else None,
        status_scan=status_scan,
        last_scan_at=last_scan_at,
        buyer_notice=notice,
        carrier=carrier,
    )
