"""``POST /v1/callbacks/cjdropshipping/{supplier_id}``: CJ's webhook messages.

Verified before anything is read: the ``sign`` header is the base64 HMAC-SHA256 of the
raw body keyed with the account's ``openId`` (credentials ``open_id``); a bad or missing
sign is 401. A message id seen before is answered 200 and ignored (CJ retries a message
3 times, 5 minutes apart, when the answer is not 200). ORDER messages carry our number
(``orderNum``), LOGISTICS messages CJ's order id: tracking goes through the same ship
action as the portal (``shipment.tracking_assigned`` once; a malformed number 422)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from dropship_common.deps import Runtime
from dropship_common.errors import BadRequest, InvalidSignature, NotFound
from dropship_common.messaging.inbox import Inbox
from dropship_common.messaging.outbox import Outbox
from dropship_common.security import verify_hmac_base64
from supplier_gateway.adapters.cjdropshipping import KIND, SHIPPED_STATES
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent
from supplier_gateway.placement.repository import PlacementRepository
from supplier_gateway.supplier_orders.supplier_updates import ensure_placed, report_shipped
from supplier_gateway.suppliers.repository import SupplierRepository

router = APIRouter(prefix="/v1/callbacks", tags=["supplier callbacks"])


class CJMessage(BaseModel):
    messageId: str
    type: str
    messageType: str | None = None
    params: dict[str, Any]


def _message_uuid(message_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(message_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"cj:{message_id}")


def _answer(message: str) -> JSONResponse:
    return JSONResponse({"code": 200, "result": "success", "message": message})


@router.post("/cjdropshipping/{supplier_id}")
async def cj_webhook(supplier_id: uuid.UUID, request: Request, rt: Runtime) -> JSONResponse:
    body = await request.body()
    async with rt.db.sessions() as session:
        supplier = await SupplierRepository(session).get(supplier_id)
    open_id = (supplier.credentials or {}).get("open_id") if supplier else None
    if (
        supplier is None
        or supplier.adapter != KIND
        or not open_id
        or not verify_hmac_base64(body, request.headers.get("sign"), [str(open_id)])
    ):
        raise InvalidSignature("the sign header does not match the body")
    try:
        message = CJMessage.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest("not a CJ webhook message", [e["msg"] for e in exc.errors()]) from exc
    inbox = Inbox(rt.tables.inbox, f"cj-webhook:{supplier_id}")
    async with rt.db.transaction() as session:
        message_uuid = _message_uuid(message.messageId)
        if not await inbox.claim(session, message_uuid, f"cj.{message.type.lower()}"):
            return _answer("already received")
        outcome = await apply_message(session, rt.outbox, supplier_id, message)
    return _answer(outcome)


async def apply_message(
    session: AsyncSession, outbox: Outbox, supplier_id: uuid.UUID, message: CJMessage
) -> str:
    actor = f"cj-webhook:{message.messageId}"
    repo = PlacementRepository(session)
    p = message.params
    if message.type == "ORDER":
        try:
            our_id = uuid.UUID(str(p.get("orderNum")))
        except ValueError as exc:
            raise NotFound(f"no supplier order {p.get('orderNum')!r}") from exc
        row = await repo.for_supplier(supplier_id, our_id)
        if row is None:
            raise NotFound(f"no supplier order {our_id}")
        if p.get("cjOrderId") and not row.supplier_ref:
            row.supplier_ref = str(p["cjOrderId"])
        _note(session, row, actor, {"cj_status": p.get("orderStatus")})
        await ensure_placed(session, outbox, row, actor)
        if p.get("orderStatus") in SHIPPED_STATES and p.get("trackNumber"):
            carrier = str(p.get("logisticName") or "CJ")
            await report_shipped(session, outbox, row, actor, carrier, [str(p["trackNumber"])])
        return "order updated"
    if message.type == "LOGISTICS":
        ref = str(p.get("orderId") or "")
        found = await repo.by_supplier_ref(supplier_id, ref) if ref else None
        if found is None:
            raise NotFound(f"no supplier order with CJ order id {ref!r}")
        number = p.get("trackingNumber")
        if not number:
            _note(session, found, actor, {"tracking_status": p.get("trackingStatus")})
            return "logistics noted"
        carrier = str(p.get("logisticName") or "CJ")
        shipped = await report_shipped(session, outbox, found, actor, carrier, [str(number)])
        return "tracking assigned" if shipped else "tracking already known"
    return "ignored"  # PRODUCT, VARIANT, STOCK, …: not ours to keep


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
