"""``aftersales.supplier_notice``: tell the supplier how a case about its order was
settled, what it bears and whether goods go back, once per case, through its channel:

* portal suppliers: a line on the order's portal page, and an e-mail (the supplier
  e-mail path) when the supplier has a contact address;
* http protocol suppliers: ``POST {url}/notices``, delivered by the notice worker;
* CJdropshipping: its API has no call for this, so it is recorded for an operator
  (``for_operator``, on the supplier order's timeline: ``GET /v1/supplier-orders/{id}``)
  who tells the supplier.

Each is also on the supplier order's timeline."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.aftersales import AftersalesSupplierNotice
from dropship_common.db import utcnow
from dropship_common.messaging.bus import Unprocessable
from supplier_gateway.models import Supplier, SupplierEmail, SupplierOrder, SupplierOrderEvent
from supplier_gateway.supplier_emails.service import MAIL_FLAG
from supplier_gateway.supplier_notices.repository import SupplierNoticeRepository
from supplier_gateway.suppliers.repository import SupplierRepository

NOTICE_FLAG = "supplier_notices_to_send"  # session.info: wake the notice worker
CHANNELS = {"portal": "portal", "http": "http"}  # any other adapter: an operator


def payload_of(event: AftersalesSupplierNotice, row: SupplierOrder) -> dict[str, Any]:
    """What the supplier is told (no buyer data: the case's type, outcome and cost)."""
    return {
        "case_id": str(event.case_id),
        "supplier_order_id": str(row.id),
        "order_number": row.notice.get("order_number"),
        "case_type": event.case_type,
        "resolution": event.resolution,
        "cost": str(event.cost),
        "currency": event.currency,
        "borne_by": event.borne_by,
        "goods_back": event.goods_back,
        "note": event.note,
    }


async def record_notice(session: AsyncSession, event: AftersalesSupplierNotice, cause: str) -> bool:
    """True when the notice was recorded; False for a case already told. A supplier
    order we do not have is Unprocessable: no retry helps, the message is dead-lettered
    for an operator (nothing is lost)."""
    row = await session.get(SupplierOrder, event.supplier_order_id)
    if row is None or row.order_id != event.order_id:
        raise Unprocessable(
            f"no supplier order {event.supplier_order_id} of order {event.order_id}"
        )
    supplier = await SupplierRepository(session).get(row.supplier_id)
    assert supplier is not None
    channel = CHANNELS.get(supplier.adapter, "operator")
    status = {"portal": "shown", "http": "pending"}.get(channel, "for_operator")
    now = utcnow()
    payload = payload_of(event, row)
    recorded = await SupplierNoticeRepository(session).insert_once(
        {
            "case_id": event.case_id,
            "supplier_order_id": row.id,
            "supplier_id": supplier.id,
            "channel": channel,
            "payload": payload,
            "status": status,
            "attempts": 0,
            "next_attempt_at": now if channel == "http" else None,
            "created_at": now,
        }
    )
    if not recorded:
        return False
    session.add(
        SupplierOrderEvent(
            supplier_order_id=row.id,
            at=now,
            kind="supplier_notice",
            details={"channel": channel, "status": status, **payload},
            cause=cause,
        )
    )
    if channel == "http":
        session.info[NOTICE_FLAG] = True
    elif channel == "portal":
        _queue_email(session, row, supplier, payload, event.case_id)
    return True


def render(payload: dict[str, Any]) -> tuple[str, str]:
    number = payload.get("order_number") or payload["supplier_order_id"]
    bears = "you bear" if payload["borne_by"] == "supplier" else f"{payload['borne_by']} bears"
    subject = f"Order {number}: {payload['case_type']} case settled ({payload['resolution']})"
    body = "\n".join(
        [
            "Hello,",
            "",
            f"a case about order {number} was settled: {payload['resolution']}.",
            f"Cost: {payload['cost']} {payload['currency']} ({bears} it).",
            "The goods come back to you." if payload["goods_back"] else "No goods come back.",
            f"Case: {payload['note']}",
        ]
    )
    return subject, body


def _queue_email(
    session: AsyncSession,
    row: SupplierOrder,
    supplier: Supplier,
    payload: dict[str, Any],
    case_id: uuid.UUID,
) -> None:
    if not supplier.contact_email:
        return
    subject, body = render(payload)
    session.add(
        SupplierEmail(
            supplier_order_id=row.id,
            case_id=case_id,
            to_address=supplier.contact_email,
            subject=subject[:300],
            body=body,
            status="pending",
            next_attempt_at=utcnow(),
        )
    )
    session.info[MAIL_FLAG] = True
