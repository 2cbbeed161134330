"""Requests from order-intake reaching the suppliers: a cancellation stops the supplier
orders that have not shipped, a new address goes into the notices of those not shipped
and not in a supplier's own system; each answer goes back as an event."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.order_intake import AddressV1
from dropship_common.contracts.supplier_gateway import (
    SupplierAddressChangeAnswered,
    SupplierCancellationAnswered,
)
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.adapters.registry import OUTSIDE_KINDS
from supplier_gateway.domain.decisions import REFUSED  # the supplier ships it: a return
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository
from supplier_gateway.supplier_orders.service import PLACE_FLAG
from supplier_gateway.supplier_orders.transitions import move

# needs_attention: the supplier may have it, so it is told (a supplier that says it has
# no such order has nothing to stop)
STOPPABLE = {Status.PENDING, Status.NEEDS_ATTENTION, Status.PLACED, Status.ACCEPTED}


async def cancel_for_order(
    session: AsyncSession, outbox: Outbox, order_id: uuid.UUID, reason: str, cause: str
) -> None:
    rows = await SupplierOrderRepository(session).of_order(order_id)
    adapters = await _adapters(session, rows)
    stopped = False
    for row in rows:
        if Status(row.status) in STOPPABLE:
            sent = _in_supplier_system(row, adapters)
            move(session, row, Status.CANCELLED, cause, {"reason": reason})
            stopped = True
            row.next_attempt_at = None
            if sent:
                # the supplier has it (or may): the placement worker tells its system,
                # and the answer waits for what the supplier says (a portal supplier
                # simply sees it gone from its list)
                row.next_attempt_at = utcnow()
                row.unsettled_lookups = 0  # the cancellation's answers are counted anew
                session.info[PLACE_FLAG] = True
    if stopped or any(r.status == Status.SHIPPED.value for r in rows):
        await answer_cancellation(session, outbox, order_id, rows, cause)


async def answer_cancellation(
    session: AsyncSession,
    outbox: Outbox,
    order_id: uuid.UUID,
    rows: list[SupplierOrder],
    cause: str,
) -> None:
    """``supplier.cancellation_answered`` once no supplier is still to be told (the
    placement worker calls this again after each supplier's answer). Stopped: what was
    cancelled here and, for orders in a supplier's own system, what the supplier
    confirmed; too late: what shipped, and what a supplier refused to stop (it ships)."""
    if any(
        r.status == Status.CANCELLED.value
        and r.next_attempt_at is not None
        and not r.cancel_refused
        for r in rows
    ):
        return  # a supplier has still to be told
    refused = await refused_cancels(session, [r.id for r in rows])
    cancelled = [r.id for r in rows if r.status == Status.CANCELLED.value and r.id not in refused]
    too_late = [r.id for r in rows if r.status == Status.SHIPPED.value or r.id in refused]
    answer = SupplierCancellationAnswered(
        order_id=order_id, cancelled=cancelled, already_shipped=too_late, answered_at=utcnow()
    )
    await outbox.add(session, [answer.envelope(correlation_id=str(order_id), causation_id=cause)])


async def refused_cancels(session: AsyncSession, row_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The supplier orders whose supplier's last word on our cancellation was no."""
    events = await SupplierOrderRepository(session).events_of_kind(row_ids, "supplier_cancel")
    last: dict[uuid.UUID, str | None] = {}
    for event in events:
        last[event.supplier_order_id] = (event.details or {}).get("outcome")
    return {row_id for row_id, outcome in last.items() if outcome in REFUSED}


async def readdress_for_order(
    session: AsyncSession,
    outbox: Outbox,
    order_id: uuid.UUID,
    address: AddressV1,
    cause: str,
) -> None:
    """A new shipping address: the notices of what has not shipped say so (the portal
    shows it); the answer goes back as ``supplier.address_change_answered``."""
    rows = await SupplierOrderRepository(session).of_order(order_id)
    adapters = await _adapters(session, rows)
    applied, too_late = [], []
    fields = address.model_dump()
    for row in rows:
        status = Status(row.status)
        at_supplier = status in STOPPABLE and _in_supplier_system(row, adapters)
        if status == Status.SHIPPED or at_supplier:
            # shipped, or in a supplier's own system (CJ, our http protocol), which
            # their adapters cannot re-address: it ships to the address it has
            too_late.append(row.id)
        elif status in STOPPABLE:
            recipient = {**row.notice["recipient"], **{k: fields.get(k) for k in RECIPIENT_FIELDS}}
            row.notice = {**row.notice, "recipient": recipient}
            session.add(
                SupplierOrderEvent(
                    supplier_order_id=row.id,
                    at=utcnow(),
                    kind="address_changed",
                    details={"country_code": address.country_code},
                    cause=cause,
                )
            )
            applied.append(row.id)
    if not applied and not too_late:
        return
    answer = SupplierAddressChangeAnswered(
        order_id=order_id,
        shipping_address=address,
        applied=applied,
        too_late=too_late,
        answered_at=utcnow(),
    )
    await outbox.add(session, [answer.envelope(correlation_id=str(order_id), causation_id=cause)])


async def _adapters(session: AsyncSession, rows: list[SupplierOrder]) -> dict[uuid.UUID, str]:
    """The adapter kind of each row's supplier."""
    return await SupplierOrderRepository(session).adapters_of(rows)


def _in_supplier_system(row: SupplierOrder, adapters: dict[uuid.UUID, str]) -> bool:
    """The supplier order is (or may be) in the supplier's own system: placed through its
    adapter, or a call to place it went out."""
    sent = row.status != Status.PENDING.value or row.place_attempts > 0 or row.needs_lookup
    return sent and adapters.get(row.supplier_id) in OUTSIDE_KINDS


RECIPIENT_FIELDS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "province",
    "postal_code",
    "country_code",
    "phone",
)
