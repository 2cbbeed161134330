"""``order.redacted``: the buyer's personal data leaves what supplier-gateway copied of
the order (the confirmed order it re-places from, the shipping notices the suppliers
see, the e-mails announcing them). Amounts, items, customs and the destination country
stay: the business and the customs records need them, and they name no one."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from supplier_gateway.models import ConfirmedOrder, SupplierOrderEvent
from supplier_gateway.supplier_emails.repository import SupplierEmailRepository
from supplier_gateway.supplier_emails.service import render
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository


def _country_only(address: dict[str, Any] | None) -> dict[str, Any]:
    """The same keys (the structures stay valid), none but the country filled in."""
    return {k: (v if k == "country_code" else None) for k, v in (address or {}).items()}


def redact_notice(notice: dict[str, Any]) -> dict[str, Any]:
    return {
        **notice,
        "recipient": _country_only(notice.get("recipient")),
        "buyer_note": None,
        "buyer_wishes": [],
        "items": [{**item, "wishes": []} for item in notice.get("items") or []],
    }


def redact_confirmed(payload: dict[str, Any]) -> dict[str, Any]:
    """Still a valid ``order.confirmed`` payload, with no one in it."""
    buyer = payload.get("buyer") or {}
    return {
        **payload,
        "buyer": {"name": None, "email": None, "phone": None, "language": buyer.get("language")},
        "shipping_address": _country_only(payload.get("shipping_address")),
        "note": None,
        "note_attributes": [],
        "lines": [{**line, "properties": []} for line in payload.get("lines") or []],
    }


async def redact_for_order(session: AsyncSession, order_id: uuid.UUID, cause: str) -> None:
    confirmed = await session.get(ConfirmedOrder, order_id, with_for_update=True)
    if confirmed is not None:
        confirmed.payload = redact_confirmed(confirmed.payload)
    rows = await SupplierOrderRepository(session).of_order(order_id)
    now = utcnow()
    for row in rows:
        row.notice = redact_notice(row.notice)
        session.add(
            SupplierOrderEvent(
                supplier_order_id=row.id,
                at=now,
                kind="redacted",
                details={"country_code": row.notice["recipient"].get("country_code")},
                cause=cause,
            )
        )
    if rows:
        # written again from the scrubbed notice: one not sent yet still tells the
        # supplier of the order (it never held the name or address, only the wishes)
        by_id = {r.id: r for r in rows}
        for email in await SupplierEmailRepository(session).of_supplier_orders(by_id):
            if email.case_id is not None:
                continue  # a case's notice: it names no one
            email.body = render(by_id[email.supplier_order_id])[1]
