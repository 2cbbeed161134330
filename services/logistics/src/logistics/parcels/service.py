"""Parcels' life: opened from ``shipment.tracking_assigned``, moved by provider reports
(:func:`apply_snapshot`, through the pure :func:`~logistics.domain.progress.progress`),
watched by the rules (:func:`review_parcel`, through :func:`~logistics.domain.rules.
review`). Each function runs inside the caller's transaction and adds its events to the
outbox: nothing is published unless the change commits."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.aftersales import AftersalesReturnShipped
from dropship_common.contracts.logistics import (
    ShipmentDeliveryWindowExtended,
    ShipmentFollowUp,
    ShipmentPresumedLost,
    ShipmentStalled,
    ShipmentStatusChanged,
)
from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.outbox import Outbox
from dropship_common.tracking_links import parcel_token
from logistics.accounts.repository import AccountRepository
from logistics.domain.carriers import CarrierClass, CarrierSource, carrier_class, detect
from logistics.domain.progress import BUYER_NOTICES, ParcelState, Report, Scan, progress
from logistics.domain.rules import Due, ParcelFacts, delivery_window, next_poll_in, review
from logistics.domain.status import FINAL, ParcelStatus
from logistics.models import Destination, Parcel
from logistics.parcels.events import parcel_fields
from logistics.parcels.repository import (
    ParcelRepository,
    RoutingRepository,
    TimelineRepository,
)
from logistics.providers.base import Snapshot


@dataclass
class Batch:
    """The timeline rows and events of several reports, written in two statements."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)

    async def write(self, session: AsyncSession, outbox: Outbox) -> None:
        await TimelineRepository(session).add_many(self.rows)
        await outbox.add(session, self.envelopes)


def _event(
    parcel: Parcel, kind: str, at: dt.datetime, cause: str, key: str, **kw: Any
) -> dict[str, Any]:
    return {
        "parcel_id": parcel.id,
        "kind": kind,
        "occurred_at": at,
        "status": kw.get("status"),
        "provider_status": kw.get("provider_status"),
        "description": kw.get("description"),
        "location": kw.get("location"),
        "dedupe_key": key,
        "cause": cause[:120],
        "recorded_at": kw.get("recorded_at", at),
    }


async def open_parcels(
    session: AsyncSession,
    outbox: Outbox,
    event: ShipmentTrackingAssigned,
    cause: str,
    now: dt.datetime,
) -> list[uuid.UUID]:
    """One parcel per tracking number of the supplier order (a repeat opens nothing)."""
    destination = await session.get(Destination, event.order_id)
    shop_id = destination.shop_id if destination else None
    country = destination.country if destination else None
    routing = RoutingRepository(session)
    account = await AccountRepository(session).default_for(shop_id)
    parcels: list[Parcel] = []
    for number in event.tracking_numbers:
        code, source = detect(event.carrier, number)
        cls = carrier_class(code)
        window_from, window_to = delivery_window(
            event.shipped_at, await routing.transit(shop_id, cls, country)
        )
        parcels.append(
            Parcel(
                id=uuid.uuid4(),
                order_id=event.order_id,
                supplier_order_id=event.supplier_order_id,
                supplier_id=event.supplier_id,
                shop_id=shop_id,
                tracking_number=number,
                carrier_given=(event.carrier or None) and event.carrier[:100],
                carrier=code,
                carrier_source=source.value,
                carrier_class=cls.value,
                supplier_tracking_url=event.tracking_urls.get(number),
                duty_likely=event.duty_likely,
                customs_rule=event.customs_rule,
                token=parcel_token(event.supplier_order_id, number),
                account_id=account.id if account else None,
                status=ParcelStatus.PENDING.value,
                shipped_at=event.shipped_at,
                window_from=window_from,
                window_to=window_to,
                silent_route=await routing.is_silent(country, cls),
                notices={},
                next_check_at=now,  # register at once
                check_failures=0,
                review_at=min(now, event.shipped_at),  # due from the day it shipped
                cancelled=bool(destination and destination.cancelled_at),
                case_id=event.case_id,  # a reship's replacement
                created_at=now,
                updated_at=now,
            )
        )
    return await _opened(session, parcels, cause, now)


async def open_return_parcel(
    session: AsyncSession,
    event: AftersalesReturnShipped,
    cause: str,
    now: dt.datetime,
    reported_at: dt.datetime,
) -> list[uuid.UUID]:
    """The buyer's return to the shop, followed like any parcel, one per case: a
    repeat opens nothing; a corrected number (reported later, the return not arrived)
    replaces the earlier parcel, so a mistyped number that is someone else's parcel can
    never release the case's refund. Registered at the shop's account; its events are
    marked ``return_parcel`` with the case id and no buyer notice; no follow-up or
    window extension (rules). It goes to the shop, so the buyer's destination is not
    its own: the window is the transit to ``destination_country`` when given, else the
    carrier class's default, for information only."""
    repo = ParcelRepository(session)
    current = await repo.return_of_case(event.case_id, for_update=True)
    if current is not None:
        if (
            current.tracking_number == event.tracking_number
            or current.status == ParcelStatus.DELIVERED
            or current.shipped_at >= reported_at  # a correction older than this parcel
        ):
            return []
        await repo.remove(current)
    shop_id = event.shop_id
    account = await AccountRepository(session).default_for(shop_id)
    routing = RoutingRepository(session)
    # the carrier's return label may reuse the number the goods came with: its scans so
    # far are that journey's (see progress), not the return's
    earlier = await ParcelRepository(session).by_number(event.tracking_number)
    history_until = max((p.last_scan_at for p in earlier if p.last_scan_at), default=None)
    code, source = detect(event.carrier or "", event.tracking_number)
    cls = carrier_class(code)
    country = event.destination_country
    transit = await routing.transit(shop_id, cls, country)
    window_from, window_to = delivery_window(reported_at, transit)
    parcel = Parcel(
        id=uuid.uuid4(), order_id=event.order_id, supplier_order_id=event.case_id,
        supplier_id=event.case_id, shop_id=shop_id, tracking_number=event.tracking_number,
        carrier_given=(event.carrier or None) and event.carrier[:100], carrier=code,
        carrier_source=source.value, carrier_class=cls.value, supplier_tracking_url=None,
        duty_likely=None, customs_rule=None,
        token=parcel_token(event.case_id, event.tracking_number),
        account_id=account.id if account else None, status=ParcelStatus.PENDING.value,
        shipped_at=reported_at, window_from=window_from, window_to=window_to,
        silent_route=False,
        notices={}, next_check_at=now, check_failures=0, review_at=now, cancelled=False,
        case_id=event.case_id, return_parcel=True, history_until=history_until,
        created_at=now, updated_at=now,
    )  # fmt: skip
    return await _opened(session, [parcel], cause, now)


async def _opened(
    session: AsyncSession, parcels: list[Parcel], cause: str, now: dt.datetime
) -> list[uuid.UUID]:
    inserted = await ParcelRepository(session).insert_new(parcels)
    opened = [p for p in parcels if p.id in set(inserted)]
    await TimelineRepository(session).add_many(
        [
            _event(
                p,
                "opened",
                now,
                cause,
                f"opened:{p.id}",
                description=f"carrier {p.carrier or 'unknown'} ({p.carrier_source})",
            )
            for p in opened
        ]
    )
    return inserted


def _customs(parcel: Parcel) -> dict[str, Any]:
    if parcel.status != ParcelStatus.IN_CUSTOMS:
        return {}
    return {"duty_likely": parcel.duty_likely, "customs_rule": parcel.customs_rule}


def _state(parcel: Parcel) -> ParcelState:
    return ParcelState(
        status=ParcelStatus(parcel.status),
        status_at=parcel.status_at,
        last_scan_at=parcel.last_scan_at,
        carrier=parcel.carrier,
        carrier_source=CarrierSource(parcel.carrier_source),
        notices=frozenset(parcel.notices or {}),
        history_until=parcel.history_until,
    )


def reschedule(parcel: Parcel, now: dt.datetime, *, has_push: bool = True) -> None:
    wait = next_poll_in(
        ParcelStatus(parcel.status),
        shipped_at=parcel.shipped_at,
        last_scan_at=parcel.last_scan_at,
        last_push_at=parcel.last_push_at,
        estimated_delivery=parcel.estimated_delivery,
        now=now,
        has_push=has_push,
    )
    parcel.next_check_at = now + wait if wait is not None else None


async def apply_snapshot(
    session: AsyncSession,
    outbox: Outbox,
    parcel: Parcel,
    snapshot: Snapshot,
    *,
    source: str,
    cause: str,
    now: dt.datetime,
    has_push: bool = True,
    known_keys: set[str] | None = None,
    batch: Batch | None = None,
) -> bool:
    """Apply one provider report to a (locked) parcel; whether its status changed.
    ``known_keys``: the parcel's timeline keys when the caller read them for a batch;
    ``batch``: where the timeline rows and events go when the caller writes a batch's
    together (:meth:`Batch.write`)."""
    timeline = TimelineRepository(session)
    report = Report(
        status=snapshot.status,
        provider_status=snapshot.provider_status,
        scans=[
            Scan(c.occurred_at, c.status, c.provider_status, c.description, c.location)
            for c in snapshot.checkpoints
        ],
        carrier=snapshot.carrier,
        estimated_delivery=snapshot.estimated_delivery,
    )
    keys = known_keys if known_keys is not None else await timeline.keys(parcel.id)
    done = progress(_state(parcel), report, keys, now)
    keys.update(key for key, _ in done.new_scans)  # a second report in the same batch
    rows = [
        _event(
            parcel,
            "scan",
            s.occurred_at,
            cause,
            key,
            status=s.status.value,
            provider_status=s.provider_status[:80],
            description=s.description,
            location=(s.location or None) and s.location[:200],
            recorded_at=now,
        )
        for key, s in done.new_scans
    ]
    if source == "push":
        parcel.last_push_at = now
    if done.last_scan_at is not None:
        parcel.last_scan_at = done.last_scan_at
        parcel.stalled_at = None  # news: the stall is over
    if snapshot.estimated_delivery is not None:
        parcel.estimated_delivery = snapshot.estimated_delivery
    if done.carrier is not None:
        rows.append(
            _event(
                parcel,
                "carrier",
                now,
                cause,
                f"carrier:{done.carrier}:{now.isoformat()}",
                description=f"carrier corrected by the provider: {parcel.carrier}"
                f" -> {done.carrier}",
            )
        )
        parcel.carrier = done.carrier
        parcel.carrier_source = CarrierSource.PROVIDER.value
        parcel.carrier_class = carrier_class(done.carrier).value
    changed = done.status is not None
    if done.status is not None and done.status_scan is not None:
        previous = parcel.status
        parcel.status = done.status.value
        parcel.status_at = done.status_scan.occurred_at
        parcel.provider_status = done.status_scan.provider_status[:80]
        if done.status == ParcelStatus.DELIVERED:
            parcel.delivered_at = done.status_scan.occurred_at
        # the buyer sent a return: nothing about it is news for them
        notice = None if parcel.return_parcel else done.buyer_notice
        if notice:
            parcel.notices = {**(parcel.notices or {}), notice: now.isoformat()}
        rows.append(
            _event(
                parcel,
                "status",
                done.status_scan.occurred_at,
                cause,
                f"status:{previous}>{parcel.status}:{parcel.status_at.isoformat()}",
                status=parcel.status,
                description=f"{previous} -> {parcel.status}",
                recorded_at=now,
            )
        )
        changed_event = ShipmentStatusChanged(
            **parcel_fields(parcel),
            previous_status=previous,
            occurred_at=done.status_scan.occurred_at,
            description=done.status_scan.description or None,
            location=done.status_scan.location,
            buyer_notice=notice,
            **_customs(parcel),
        )
        envelope = changed_event.envelope(correlation_id=str(parcel.order_id))
        if batch is not None:
            batch.envelopes.append(envelope)
        else:
            await outbox.add(session, [envelope])
        parcel.review_at = None if ParcelStatus(parcel.status) in FINAL else now
    if batch is not None:
        batch.rows.extend(rows)
    else:
        await timeline.add_many(rows)
    if snapshot.stopped and ParcelStatus(parcel.status) not in FINAL:
        # the provider gave up on it: the rules still watch it; polls only rarely
        parcel.next_check_at = now + dt.timedelta(days=7)
    else:
        reschedule(parcel, now, has_push=has_push)
    parcel.check_failures = 0
    parcel.updated_at = now
    return changed


async def review_parcel(
    session: AsyncSession, outbox: Outbox, parcel: Parcel, now: dt.datetime, cause: str
) -> list[Due]:
    """Run the follow-up rules on a (locked) parcel: publish what fell due."""
    routing = RoutingRepository(session)
    policy = await routing.policy(parcel.shop_id)
    status = ParcelStatus(parcel.status)
    facts = ParcelFacts(
        status=status,
        carrier_class=CarrierClass(parcel.carrier_class),
        shipped_at=parcel.shipped_at,
        last_scan_at=parcel.last_scan_at,
        window_closes_on=parcel.window_to,
        estimated_delivery=parcel.estimated_delivery,
        silent_route=parcel.silent_route,
        followed_up=parcel.followed_up_at is not None,
        stalled=parcel.stalled_at is not None,
        presumed_lost=parcel.presumed_lost_at is not None,
        silent_route_told=parcel.silent_route_told_at is not None,
        return_parcel=parcel.return_parcel,
    )
    decided = review(facts, policy, now)
    silent_since = parcel.last_scan_at or parcel.shipped_at
    silent_days = (now - silent_since).days
    envelopes = []
    rows = []
    correlation = str(parcel.order_id)
    if Due.EXTEND_WINDOW in decided.due and decided.window_closes_on is not None:
        previous = parcel.window_to
        parcel.window_to = decided.window_closes_on
        reason = (
            "silent_route"
            if Due.SILENT_ROUTE in decided.due
            else "late_estimate"
            if parcel.estimated_delivery and parcel.estimated_delivery > previous
            else "closing"
        )
        envelopes.append(
            ShipmentDeliveryWindowExtended(
                **parcel_fields(parcel), previous_window_to=previous, reason=reason
            ).envelope(correlation_id=correlation)
        )
        rows.append(
            _event(
                parcel,
                "rule",
                now,
                cause,
                f"window:{parcel.window_to}",
                description=f"delivery window extended to {parcel.window_to} ({reason})",
            )
        )
    if Due.FOLLOW_UP in decided.due and (
        Due.STALLED in decided.due or Due.SILENT_ROUTE in decided.due
    ):
        # due together (no scan since shipping): one message to the buyer, the stall's
        parcel.followed_up_at = now
        rows.append(
            _event(
                parcel,
                "rule",
                now,
                cause,
                "follow_up",
                description="follow-up due: told with the stall",
            )
        )
    elif Due.FOLLOW_UP in decided.due:
        parcel.followed_up_at = now
        last = await TimelineRepository(session).last_scan(parcel.id)
        envelopes.append(
            ShipmentFollowUp(
                **parcel_fields(parcel),
                due_at=now,
                last_scan_at=parcel.last_scan_at,
                last_scan=last,
            ).envelope(correlation_id=correlation)
        )
        rows.append(_event(parcel, "rule", now, cause, "follow_up", description="follow-up due"))
    if Due.STALLED in decided.due or Due.SILENT_ROUTE in decided.due:
        silent = Due.SILENT_ROUTE in decided.due
        if Due.STALLED in decided.due:
            parcel.stalled_at = now
        if silent:
            parcel.silent_route_told_at = now
        envelopes.append(
            ShipmentStalled(
                **parcel_fields(parcel),
                last_scan_at=parcel.last_scan_at,
                silent_days=silent_days,
                silent_route=silent,
            ).envelope(correlation_id=correlation)
        )
        rows.append(
            _event(
                parcel,
                "rule",
                now,
                cause,
                f"stalled:{silent_since.isoformat()}:{silent}",
                description=f"no scan for {silent_days} days"
                + (" (a route that loses tracking)" if silent else ""),
            )
        )
    if Due.PRESUMED_LOST in decided.due:
        parcel.presumed_lost_at = now
        envelopes.append(
            ShipmentPresumedLost(
                **parcel_fields(parcel),
                last_scan_at=parcel.last_scan_at,
                silent_days=silent_days,
                detected_at=now,
            ).envelope(correlation_id=correlation)
        )
        rows.append(
            _event(
                parcel,
                "rule",
                now,
                cause,
                "presumed_lost",
                description=f"presumed lost: no tracking information for {silent_days} days",
            )
        )
    parcel.review_at = decided.next_review_at
    parcel.updated_at = now
    await TimelineRepository(session).add_many(rows)
    await outbox.add(session, envelopes)
    return decided.due


async def operator_status(
    session: AsyncSession,
    outbox: Outbox,
    parcel: Parcel,
    status: ParcelStatus,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> None:
    """An operator marks a (locked) parcel delivered or lost, with the reason."""
    previous = parcel.status
    parcel.status = status.value
    parcel.status_at = now
    parcel.provider_status = None
    if status == ParcelStatus.DELIVERED:
        parcel.delivered_at = now
    notice = None if parcel.return_parcel else BUYER_NOTICES.get(status)
    if notice and notice in (parcel.notices or {}):
        notice = None
    if notice:
        parcel.notices = {**(parcel.notices or {}), notice: now.isoformat()}
    parcel.next_check_at = None
    parcel.review_at = None
    parcel.updated_at = now
    await TimelineRepository(session).add_many(
        [
            _event(
                parcel,
                "operator",
                now,
                actor,
                f"mark:{status}:{now.isoformat()}",
                status=status.value,
                description=f"{previous} -> {status.value}: {reason}",
            )
        ]
    )
    changed = ShipmentStatusChanged(
        **parcel_fields(parcel),
        previous_status=previous,
        occurred_at=now,
        description=f"marked {status.value} by an operator: {reason}",
        location=None,
        buyer_notice=notice,
    )
    await outbox.add(session, [changed.envelope(correlation_id=str(parcel.order_id))])
