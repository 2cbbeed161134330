"""What a stored CJ message does to our supplier orders (in the worker's transaction).

``LOGISTIC`` names CJ's order id (``params.orderId``, matched to ``supplier_ref``):
its ``trackingNumber`` ships the order (carrier ``logisticName``, CJ's ``trackingUrl``
kept). ``ORDER`` names our number (``orderNumber``; ``orderNum`` is the deprecated
name): CJ's id is learnt from ``cjOrderId`` (replaced when ``messageType`` is
``ORDER_CONNNECTED``: CJ re-created the order under a new id), the order counts as
placed, and a shipped one with a ``trackNumber`` ships. Fields as in
https://developers.cjdropshipping.com/en/api/start/webhook.html."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.adapters.cjdropshipping import SHIPPED_STATES
from supplier_gateway.models import CJMessage, SupplierOrder, SupplierOrderEvent
from supplier_gateway.placement.repository import PlacementRepository
from supplier_gateway.supplier_orders.supplier_updates import ensure_placed, report_shipped

ORDER_CONNECTED = "ORDER_CONNNECTED"  # sic: CJ's spelling, three N's


@dataclass(frozen=True)
class Applied:
    supplier_order_id: uuid.UUID
    note: str


@dataclass(frozen=True)
class Unmatched:
    """No order of ours matches (yet): CJ's message may overtake our record of the
    placement; tried again later."""

    reason: str


@dataclass(frozen=True)
class Unusable:
    """Can never apply as it is (no order reference, not our number): parked."""

    reason: str


Outcome = Applied | Unmatched | Unusable


async def apply_message(session: AsyncSession, outbox: Outbox, message: CJMessage) -> Outcome:
    """Raises :class:`~dropship_common.errors.AppError` when our rules refuse what the
    message says (a malformed tracking number, other numbers than the ones known)."""
    params = message.params
    if not isinstance(params, dict):
        return Unusable("params is not an object")
    actor = f"cj-webhook:{message.message_id}"
    if message.type == "ORDER":
        return await _order(session, outbox, message, params, actor)
    return await _logistic(session, outbox, message.supplier_id, params, actor)


def _text(value: Any) -> str | None:
    """A field CJ sends as text or as a number (ids): as text; None when absent."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _urls(number: str, params: dict[str, Any]) -> dict[str, str] | None:
    url = params.get("trackingUrl")
    return {number: url} if isinstance(url, str) and url else None


async def _logistic(
    session: AsyncSession,
    outbox: Outbox,
    supplier_id: uuid.UUID,
    params: dict[str, Any],
    actor: str,
) -> Outcome:
    ref = _text(params.get("orderId"))
    if ref is None:
        return Unusable("no orderId (CJ's order id) in the message")
    row = await PlacementRepository(session).by_supplier_ref(supplier_id, ref)
    if row is None:
        return Unmatched(f"no supplier order with CJ order id {ref} (yet)")
    number = _text(params.get("trackingNumber"))
    if number is None:
        _note(session, row, actor, {"tracking_status": params.get("trackingStatus")})
        return Applied(row.id, "logistics noted")
    carrier = _text(params.get("logisticName")) or "CJ"
    shipped = await report_shipped(
        session, outbox, row, actor, carrier, [number], _urls(number, params)
    )
    return Applied(row.id, "tracking assigned" if shipped else "tracking already known")


async def _order(
    session: AsyncSession,
    outbox: Outbox,
    message: CJMessage,
    params: dict[str, Any],
    actor: str,
) -> Outcome:
    number = _text(params.get("orderNumber")) or _text(params.get("orderNum"))
    if number is None:
        return Unusable("no orderNumber in the message")
    try:
        our_id = uuid.UUID(number)
    except ValueError:
        return Unusable(f"orderNumber {number!r} is not one of our supplier-order ids")
    row = await PlacementRepository(session).for_supplier(message.supplier_id, our_id)
    if row is None:
        return Unmatched(f"no supplier order {our_id} of this supplier (yet)")
    cj_id = _text(params.get("cjOrderId"))
    if cj_id and (not row.supplier_ref or message.message_type == ORDER_CONNECTED):
        row.supplier_ref = cj_id
    _note(session, row, actor, {"cj_status": params.get("orderStatus")})
    await ensure_placed(session, outbox, row, actor)
    track = _text(params.get("trackNumber"))
    if params.get("orderStatus") in SHIPPED_STATES and track:
        carrier = _text(params.get("logisticName")) or "CJ"
        await report_shipped(session, outbox, row, actor, carrier, [track], _urls(track, params))
    return Applied(row.id, "order updated")


def _note(session: AsyncSession, row: SupplierOrder, actor: str, details: dict[str, Any]) -> None:
    session.add(
        SupplierOrderEvent(
            supplier_order_id=row.id,
            at=utcnow(),
            kind="supplier_update",
            details=details,
            cause=actor,
        )
    )
