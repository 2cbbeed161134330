"""What a supplier's own system reports (a CJ webhook, a lookup, an http callback),
applied with the same guarded actions as the portal's, tolerant of repeats and of
reports that overtake our own record of the placement."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.carriers import normalize_tracking
from dropship_common.db import utcnow
from dropship_common.errors import Conflict
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.models import SupplierOrder
from supplier_gateway.supplier_orders import actions
from supplier_gateway.supplier_orders.service import mark_placed
from supplier_gateway.suppliers.repository import SupplierRepository


async def ensure_placed(
    session: AsyncSession, outbox: Outbox, row: SupplierOrder, actor: str
) -> None:
    """The supplier knows the order, so it was placed, even if the call that placed it
    has not come back yet (a timeout): the placement worker then finds it placed. This
    also settles one left to an operator (``needs_attention``)."""
    if row.status not in (Status.PENDING.value, Status.NEEDS_ATTENTION.value):
        return
    supplier = await SupplierRepository(session).get(row.supplier_id)
    assert supplier is not None
    # an open order is looked up now and then (the next sync sets the interval); a call
    # still out keeps its lease, and its outcome sets the next lookup
    row.needs_lookup, row.unsettled_lookups = False, 0
    row.next_attempt_at = row.next_attempt_at or utcnow()
    await mark_placed(session, outbox, row, supplier, actor, via="supplier report")


async def report_shipped(
    session: AsyncSession,
    outbox: Outbox,
    row: SupplierOrder,
    actor: str,
    carrier: str,
    numbers: list[str],
    tracking_urls: dict[str, str] | None = None,
) -> bool:
    """Ship with these tracking numbers; True when it did. The same numbers reported
    again change nothing (one ``shipment.tracking_assigned``); malformed ones are
    refused (422). ``tracking_urls``: the supplier's tracking pages (number -> URL)."""
    if row.status == Status.SHIPPED.value:
        wanted = [normalize_tracking(n) for n in numbers]
        if wanted and all(n is not None and n in (row.tracking_numbers or []) for n in wanted):
            return False
        raise Conflict("already shipped with other tracking numbers")
    await ensure_placed(session, outbox, row, actor)
    await actions.ship(session, outbox, row, actor, carrier, numbers, tracking_urls)
    return True
