"""``POST /v1/callbacks/cjdropshipping/{supplier_id}``: CJ's webhook messages.

CJ's rules (https://developers.cjdropshipping.com/en/api/start/webhook.html and the
Chinese page's "请求失败处理", https://developers.cjdropshipping.com/zh/api/start/webhook.html):
an answer within 3 seconds, HTTP 200 with ``{"code": 200, "result": "success",
"message": …}``; any other answer is retried only 3 times, 5 minutes apart, and when
half of an account's messages fail CJ pauses *all* of them until the webhook is
registered again. So the request only verifies, checks the envelope, stores the message
(once per ``messageId``) and answers 200; the worker applies it after the commit
(:mod:`supplier_gateway.cj_messages.worker`). Nothing about the message's content gets
another answer: an order we do not know (yet), a malformed tracking number, a type we
do not understand are all stored, answered 200, and reconciled, parked or listed for
an operator later.

Refused, and why that is right:

* A bad or missing ``sign`` (401): the base64 HMAC-SHA256 of the raw body keyed with
  the account's ``openId`` (https://developers.cjdropshipping.cn/en/api/start/webhook.html,
  "Signature Authentication"). CJ signs every message it sends, so a message that does
  not verify is not CJ's: refusing it costs CJ's failure rate nothing. The keys are the
  ``openId`` CJ returned with our access token (kept by the token manager; "the openId
  delivered in Webhook pushes is the same value returned by the Get Access Token API")
  and the one typed into the credentials, either accepted. Counted
  (``cj_webhook_refused_total{reason="bad_sign"}``) and logged: a run of them means our
  openId is wrong, and CJ is about to pause the account's messages.
* A signed body that is not CJ's envelope (no ``messageId`` or ``type``; 400): it cannot
  be deduplicated, and no documented message looks like that.
* A store that is down (5xx): nothing was kept, so CJ must send it again.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from dropship_common.deps import Runtime
from dropship_common.errors import BadRequest, InvalidSignature
from dropship_common.runtime import ServiceRuntime
from dropship_common.security import verify_hmac_base64
from supplier_gateway.adapters.cjdropshipping import KIND, account_fingerprint
from supplier_gateway.cj_messages.kinds import (
    CJ_WEBHOOK_REFUSED,
    IGNORED,
    UNHANDLED,
    count,
    status_on_arrival,
)
from supplier_gateway.cj_messages.repository import CJMessageRepository
from supplier_gateway.suppliers.repository import SupplierRepository

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/callbacks", tags=["supplier callbacks"])


class CJEnvelope(BaseModel):
    """``{"messageId", "type", "messageType", "openId", "params"}``; ``params`` is
    checked by the worker (its shape depends on the type)."""

    model_config = ConfigDict(extra="allow")

    messageId: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | int
    )
    type: str = Field(min_length=1, max_length=40)
    messageType: str | None = Field(default=None, max_length=40)
    params: Any = None


def _answer(message: str) -> JSONResponse:
    return JSONResponse({"code": 200, "result": "success", "message": message})


async def signing_secrets(rt: ServiceRuntime, supplier_id: uuid.UUID) -> list[str]:
    """The openIds a message to this supplier may be signed with: the one CJ returned
    with the access token of the supplier's current API key, and the one in the
    credentials. Empty when the supplier is not a CJ one (or no openId is known yet)."""
    async with rt.db.sessions() as session:
        repo = SupplierRepository(session)
        supplier = await repo.get(supplier_id)
        if supplier is None or supplier.adapter != KIND:
            return []
        token = await repo.token(supplier_id)
    credentials = supplier.credentials or {}
    secrets = [credentials.get("open_id")]
    api_key = credentials.get("api_key")
    if token is not None and api_key and token.account == account_fingerprint(str(api_key)):
        secrets.insert(0, token.open_id)
    return list(dict.fromkeys(str(s) for s in secrets if s))


@router.post("/cjdropshipping/{supplier_id}")
async def cj_webhook(supplier_id: uuid.UUID, request: Request, rt: Runtime) -> JSONResponse:
    body = await request.body()
    secrets = await signing_secrets(rt, supplier_id)
    if not secrets or not verify_hmac_base64(body, request.headers.get("sign"), secrets):
        CJ_WEBHOOK_REFUSED.labels("bad_sign").inc()
        log.warning("cj_webhook_bad_sign", supplier=str(supplier_id), known=bool(secrets))
        raise InvalidSignature("the sign header does not match the body")
    try:
        envelope = CJEnvelope.model_validate_json(body)
    except ValidationError as exc:
        CJ_WEBHOOK_REFUSED.labels("malformed").inc()
        raise BadRequest("not a CJ webhook message", [e["msg"] for e in exc.errors()]) from exc
    status = status_on_arrival(envelope.type)
    async with rt.db.transaction() as session:
        stored = await CJMessageRepository(session).store(
            supplier_id,
            str(envelope.messageId),
            envelope.type,
            envelope.messageType,
            envelope.params,
            status,
        )
    if not stored:
        count(envelope.type, "duplicate")
        return _answer("already received")
    count(envelope.type, "received")
    if status in (IGNORED, UNHANDLED):
        count(envelope.type, status)
    if status == UNHANDLED:
        log.warning("cj_message_unhandled", supplier=str(supplier_id), type=envelope.type)
    return _answer("received")
