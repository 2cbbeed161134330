"""Accepting aftersales' requests for money back: one credit per case and kind, under a
lock of the order, never more than the order's total less the refunds made or on
their way (the storefront checks again before it pays). A request that cannot be
accepted is answered at once with ``order.refund_failed``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.aftersales import (
    AftersalesDiscountRequested,
    AftersalesPaymentRequested,
    AftersalesRefundRequested,
)
from dropship_common.contracts.order_intake import OrderPaymentFailed, OrderRefundFailed
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from order_intake.credits.repository import CreditRepository
from order_intake.models import Order, OrderEvent
from order_intake.orders.repository import OrderRepository

log = structlog.get_logger(__name__)

CREDIT_FLAG = "credits_dirty"  # set on a session that accepted a credit


def discount_code(case_id: uuid.UUID) -> str:
    """The case's own code: the same on every attempt, so a lost reply is found by it;
    unguessable from outside (a hash of the case id, which never leaves our services)."""
    digest = hashlib.sha256(f"discount:{case_id}".encode()).digest()[:8]
    return "SORRY-" + base64.b32encode(digest).decode().rstrip("=")


async def _failed(
    session: AsyncSession,
    outbox: Outbox,
    order: Order,
    case_id: uuid.UUID,
    code: str,
    message: str,
    refundable: Decimal | None,
) -> None:
    log.warning("refund_refused", order=str(order.id), case=str(case_id), code=code)
    session.add(
        OrderEvent(
            order_id=order.id,
            at=utcnow(),
            kind="refund_refused",
            reason=message,
            details={"case_id": str(case_id), "code": code},
            cause=f"case:{case_id}",
            actor="service:aftersales",
        )
    )
    failed = OrderRefundFailed(
        order_id=order.id, shop_id=order.shop_id, case_id=case_id, code=code,
        message=message, refundable=refundable, failed_at=utcnow(),
    )  # fmt: skip
    await outbox.add(session, [failed.envelope(correlation_id=str(order.id))])


Request = AftersalesRefundRequested | AftersalesDiscountRequested | AftersalesPaymentRequested


async def _queue(
    session: AsyncSession, order: Order, event: Request, kind: str, **extra: Any
) -> bool:
    """The case's credit of ``kind`` queued for the worker (or a failed one tried again
    for a later attempt); False when it is there already."""
    added = await CreditRepository(session).add_or_retry(
        {
            "id": uuid.uuid4(),
            "case_id": event.case_id,
            "round": event.attempt - 1,
            "kind": kind,
            "order_id": order.id,
            "shop_id": order.shop_id,
            "platform": order.platform,
            "amount": event.amount,
            "currency": event.currency,
            "reason": event.reason[:500],
            **extra,
        }
    )
    if added:
        session.info[CREDIT_FLAG] = True
    return added


async def accept_refund(
    session: AsyncSession, outbox: Outbox, event: AftersalesRefundRequested
) -> bool:
    """True when a new refund was queued for the credit worker."""
    order = await OrderRepository(session).get(event.order_id, for_update=True)
    if order is None:
        log.warning("refund_for_unknown_order", order=str(event.order_id))
        return False
    credits = CreditRepository(session)
    left = order.total_price - await credits.refunded(order.id)
    if event.currency != order.currency:
        await _failed(session, outbox, order, event.case_id, "currency_mismatch",
                      f"the order is in {order.currency}, not {event.currency}", left)  # fmt: skip
        return False
    if event.amount <= 0 or event.amount > left:
        exists = await credits.one(
            credits.select().where(
                credits.model.case_id == event.case_id, credits.model.kind == "refund"
            )
        )
        if exists is not None and (exists.status != "failed" or event.attempt - 1 <= exists.round):
            return False  # this case's own refund, asked again: nothing to do
        code = "nothing_refundable" if left <= 0 else "over_refundable"
        asked = f"{event.amount} {event.currency} asked, {left} left to refund"
        await _failed(session, outbox, order, event.case_id, code, asked, left)
        return False
    return await _queue(session, order, event, "refund")


async def accept_discount(
    session: AsyncSession, outbox: Outbox, event: AftersalesDiscountRequested
) -> bool:
    order = await OrderRepository(session).get(event.order_id, for_update=True)
    if order is None:
        log.warning("discount_for_unknown_order", order=str(event.order_id))
        return False
    ends_at = utcnow() + dt.timedelta(days=event.valid_days)
    return await _queue(
        session, order, event, "discount", code=discount_code(event.case_id), ends_at=ends_at
    )


async def accept_payment(
    session: AsyncSession, outbox: Outbox, event: AftersalesPaymentRequested
) -> bool:
    """A payment link for the order's buyer, once per case; refused at once (``order.
    payment_failed``) for an order we do not have or in another currency."""
    order = await OrderRepository(session).get(event.order_id, for_update=True)
    if order is None:
        log.warning("payment_for_unknown_order", order=str(event.order_id))
        return False
    if event.currency != order.currency:
        failed = OrderPaymentFailed(
            order_id=order.id, shop_id=order.shop_id, case_id=event.case_id,
            code="storefront_error", failed_at=utcnow(),
            message=f"the order is in {order.currency}, not {event.currency}",
        )  # fmt: skip
        await outbox.add(session, [failed.envelope(correlation_id=str(order.id))])
        return False
    ends_at = utcnow() + dt.timedelta(days=event.valid_days)
    return await _queue(session, order, event, "payment", ends_at=ends_at)
