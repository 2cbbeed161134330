"""What a supplier does with an order (through the portal now, its API later): accept,
reject, ship. Each is a guarded transition with its timeline entry and event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.carriers import normalize_tracking, valid_tracking_url
from dropship_common.contracts.supplier_gateway import (
    ShipmentTrackingAssigned,
    SupplierOrderRejected,
)
from dropship_common.db import utcnow
from dropship_common.errors import Conflict, NotFound, ValidationFailed
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.domain.decisions import decide_rejection
from supplier_gateway.domain.supplier_order import (
    REJECT_REASONS,
    IllegalTransition,
    Status,
)
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent
from supplier_gateway.reships.outcomes import reship_failed
from supplier_gateway.supplier_orders.cancellation import refused_cancels
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository
from supplier_gateway.supplier_orders.service import reroute_rejected
from supplier_gateway.supplier_orders.transitions import move


def _tracking_urls(given: dict[str, str], numbers: list[str]) -> dict[str, str]:
    """The valid pages of ``numbers``, keyed by the number as normalised."""
    urls: dict[str, str] = {}
    for raw, url in given.items():
        number = normalize_tracking(raw)
        if number is not None and number in numbers and valid_tracking_url(url):
            urls[number] = url
    return urls


async def load_for_supplier(
    session: AsyncSession, supplier_order_id: uuid.UUID, supplier_id: uuid.UUID
) -> SupplierOrder:
    """Another supplier's order is a 404: a supplier sees only its own."""
    row = await SupplierOrderRepository(session).for_supplier(supplier_id, supplier_order_id)
    if row is None:
        raise NotFound(f"no supplier order {supplier_order_id}")
    return row


def _move(
    session: AsyncSession,
    row: SupplierOrder,
    target: Status,
    actor: str,
    details: dict[str, Any] | None,
) -> None:
    try:
        move(session, row, target, actor, details)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from exc


def _line_ids(row: SupplierOrder) -> list[uuid.UUID]:
    return [uuid.UUID(i["line_id"]) for i in row.notice["items"]]


async def accept(session: AsyncSession, row: SupplierOrder, actor: str) -> None:
    _move(session, row, Status.ACCEPTED, actor, None)


async def reject(
    session: AsyncSession,
    outbox: Outbox,
    row: SupplierOrder,
    actor: str,
    reason: str,
    note: str | None,
    restock_date: dt.date | None,
) -> None:
    if reason not in REJECT_REASONS:
        raise ValidationFailed("unknown reason", {"allowed": list(REJECT_REASONS)})
    restock = restock_date and restock_date.isoformat()
    details = {"reason": reason, "note": note, "restock_date": restock}
    _move(session, row, Status.REJECTED, actor, details)
    row.reject_reason = reason
    if row.case_id is not None:
        # a reship is not re-routed: the case goes back to an agent, who may name a backup
        why = f"{reason}: {note}" if note else reason
        await reship_failed(session, outbox, row.case_id, "rejected", why, actor, row)
        return
    created, left = await reroute_rejected(session, outbox, row, actor)
    decision = decide_rejection(replaced_by=created, lines_left=[line.line_id for line in left])
    if decision.replaced_by:
        session.add(
            SupplierOrderEvent(
                supplier_order_id=row.id,
                at=utcnow(),
                kind="replaced",
                details={"by": [str(i) for i in decision.replaced_by]},
                cause=actor,
            )
        )
    if not decision.publish_rejected_for:
        return  # every line re-placed with a backup supplier
    event = SupplierOrderRejected(
        order_id=row.order_id,
        supplier_order_id=row.id,
        supplier_id=row.supplier_id,
        reason=reason,
        note=note,
        restock_date=restock_date,
        line_ids=decision.publish_rejected_for,
        rejected_at=utcnow(),
    )
    await outbox.add(
        session, [event.envelope(correlation_id=str(row.order_id), causation_id=actor)]
    )


async def ship(
    session: AsyncSession,
    outbox: Outbox,
    row: SupplierOrder,
    actor: str,
    carrier: str,
    tracking: list[str],
    tracking_urls: dict[str, str] | None = None,
) -> None:
    """``tracking_urls``: the supplier's tracking page of a number (as given), kept when
    it is a valid https URL. The notice's customs assessment goes with the tracking, so
    that the buyer can be told at customs whether duty is likely."""
    carrier = carrier.strip()
    if not carrier or len(carrier) > 100:
        raise ValidationFailed("the carrier is required (as the supplier names it)")
    numbers: list[str] = []
    bad = []
    for raw in tracking:
        value = normalize_tracking(raw)
        if value is None:
            bad.append(raw)
        elif value not in numbers:
            numbers.append(value)
    if bad or not numbers:
        raise ValidationFailed("malformed or missing tracking numbers", {"refused": bad})
    if row.status == Status.CANCELLED.value and row.id not in await refused_cancels(
        session, [row.id]
    ):
        # only one a supplier refused to stop can still ship; the buyer was told the rest
        # is cancelled
        raise Conflict("this supplier order is cancelled")
    urls = _tracking_urls(tracking_urls or {}, numbers)
    details: dict[str, Any] = {"carrier": carrier, "tracking_numbers": numbers}
    if urls:
        details["tracking_urls"] = urls
    _move(session, row, Status.SHIPPED, actor, details)
    row.carrier, row.tracking_numbers = carrier, numbers
    row.shipped_at = utcnow()
    event = ShipmentTrackingAssigned(
        order_id=row.order_id,
        supplier_order_id=row.id,
        supplier_id=row.supplier_id,
        line_ids=_line_ids(row),
        carrier=carrier,
        tracking_numbers=numbers,
        shipped_at=utcnow(),
        tracking_urls=urls,
        case_id=row.case_id,
        **_customs_of(row),
    )
    await outbox.add(
        session, [event.envelope(correlation_id=str(row.order_id), causation_id=actor)]
    )


def _customs_of(row: SupplierOrder) -> dict[str, Any]:
    customs = (row.notice or {}).get("customs") or {}
    crossed = customs.get("threshold_crossed")
    rule = customs.get("threshold_rule")
    return {
        "duty_likely": crossed if isinstance(crossed, bool) else None,
        "customs_rule": rule[:300] if isinstance(rule, str) else None,
    }
