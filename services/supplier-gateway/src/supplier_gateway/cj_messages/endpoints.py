"""Operators' view of CJ's webhook messages: what did not apply (``parked``: never
matched an order, or refused) and what we do not understand (``unhandled``), each
with its params and last error; one can be sent back to the worker."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dropship_common.db import utcnow
from dropship_common.deps import Admin, Operator, Runtime
from dropship_common.errors import Conflict, NotFound
from supplier_gateway.cj_messages.kinds import PARKED, PENDING, UNHANDLED
from supplier_gateway.cj_messages.repository import CJ_MESSAGE_FLAG, CJMessageRepository

router = APIRouter(prefix="/v1/callbacks/cjdropshipping/messages", tags=["supplier callbacks"])


class CJMessageOut(BaseModel):
    id: uuid.UUID
    supplier_id: uuid.UUID
    message_id: str
    type: str
    message_type: str | None
    params: Any
    status: str
    attempts: int
    last_error: str | None
    supplier_order_id: uuid.UUID | None
    received_at: dt.datetime
    next_attempt_at: dt.datetime | None
    match_by: dt.datetime | None
    processed_at: dt.datetime | None


class CJMessages(BaseModel):
    messages: list[CJMessageOut]


@router.get("", response_model=CJMessages)
async def list_messages(
    rt: Runtime,
    _: Operator,
    status: Literal["pending", "processed", "ignored", "unhandled", "parked"] | None = None,
    supplier_id: uuid.UUID | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> CJMessages:
    async with rt.db.sessions() as session:
        rows = await CJMessageRepository(session).recent(status, supplier_id, limit)
        return CJMessages(
            messages=[CJMessageOut.model_validate(r, from_attributes=True) for r in rows]
        )


@router.post("/{message_uuid}/retry", response_model=CJMessageOut)
async def retry_message(message_uuid: uuid.UUID, rt: Runtime, _: Admin) -> CJMessageOut:
    """A parked or unhandled message applied again (its order may exist now, or the
    code may understand it now), with a fresh time to match."""
    async with rt.db.transaction() as session:
        row = await CJMessageRepository(session).get(message_uuid)
        if row is None:
            raise NotFound(f"no CJ message {message_uuid}")
        if row.status not in (PARKED, UNHANDLED):
            raise Conflict("only a parked or unhandled message can be retried")
        row.status, row.attempts, row.match_by = PENDING, 0, None
        row.next_attempt_at, row.processed_at = utcnow(), None
        session.info[CJ_MESSAGE_FLAG] = True
        await session.flush()
        return CJMessageOut.model_validate(row, from_attributes=True)
