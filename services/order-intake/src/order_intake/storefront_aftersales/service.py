"""The storefront's aftersales signals, as events for aftersales: a return the buyer
asked for (Shopify ``returns/request``) is ``order.return_requested``; a refund made in
the storefront's admin (Shopify ``refunds/create``, a WooCommerce order's ``refunds``)
is ``order.refund_recorded``.

Each is published once per storefront id: the order is locked, its timeline says which
returns and refunds were recorded, and the envelope id is derived from the storefront's
id, so that even a copy written by a concurrent path is one message to aftersales'
inbox. A refund aftersales itself asked for comes back the same way: its note names the
case (``case <uuid>``), and it is published with that case and source ``aftersales``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import structlog

from dropship_common.contracts.order_intake import (
    OrderRefundRecorded,
    OrderReturnRequested,
    RefundLineV1,
)
from dropship_common.db import utcnow
from order_intake.domain.aftersales import Transaction, case_named, refunded, return_reason
from order_intake.domain.order import CanonicalOrder
from order_intake.models import Order, Shop
from order_intake.orders.unit import Cause, OrderUnit
from order_intake.storefront_aftersales.repository import SignalRepository
from order_intake.storefronts import clean_text, load_json, to_utc
from order_intake.storefronts.shopify_aftersales import ShopifyRefund, ShopifyReturn

log = structlog.get_logger(__name__)

RETURN_KIND = "return_requested"
REFUND_KIND = "refund_recorded"
# envelope ids: uuid5 of the shop and the storefront's id under these namespaces
_RETURN_NS = uuid.UUID("0b7f2a4e-5d0c-4b63-9f3a-1f3e6c2a7d10")
_REFUND_NS = uuid.UUID("5c1d8e2b-9a47-4f0e-8b6d-2e7a4c9f1b32")


@dataclass(frozen=True)
class Refund:
    """A refund as the storefront reported it, whatever the platform."""

    external_id: str
    amount: Decimal
    currency: str
    note: str | None
    refunded_at: dt.datetime


async def _seen(unit: OrderUnit, order: Order, kind: str, key: str) -> set[str]:
    # what this transaction recorded before (an earlier delivery of the batch) included
    await unit.session.flush()
    return await SignalRepository(unit.session).recorded(order.id, kind, key)


async def _order(unit: OrderUnit, shop: Shop, external_id: str, what: str) -> Order | None:
    order = await unit.stored(shop.id, external_id)
    if order is None:  # placed before the shop was connected, or not ours
        log.info("aftersales_signal_for_unknown_order", what=what, shop=str(shop.id))
    return order


async def record_refund(unit: OrderUnit, order: Order, refund: Refund, cause: Cause) -> bool:
    """``order.refund_recorded`` for a refund not recorded on the order yet (False when
    it was). ``order`` must be locked (as :meth:`OrderUnit.stored` returns it)."""
    if refund.external_id in await _seen(unit, order, REFUND_KIND, "storefront_refund_id"):
        return False
    case_id = case_named(refund.note)
    event = OrderRefundRecorded(
        order_id=order.id,
        shop_id=order.shop_id,
        case_id=case_id,
        source="aftersales" if case_id else "storefront_admin",
        storefront_refund_id=refund.external_id,
        amount=refund.amount,
        currency=refund.currency,
        refunded_at=refund.refunded_at,
    )
    message_id = uuid.uuid5(_REFUND_NS, f"{order.shop_id}:{refund.external_id}")
    await unit.publish(order, event, cause, message_id=message_id)
    unit.record(
        order,
        REFUND_KIND,
        cause,
        reason=f"refunded {refund.amount} {refund.currency} at the storefront",
        details={
            "storefront_refund_id": refund.external_id,
            "amount": str(refund.amount),
            "currency": refund.currency,
            "case_id": str(case_id) if case_id else None,
        },
    )
    return True


async def shopify_refund(unit: OrderUnit, shop: Shop, body: bytes, cause: Cause) -> Order | None:
    """A ``refunds/create`` delivery. A refund that gave no money back (restock only,
    or every transaction failed) is noted on the timeline, not published."""
    data = ShopifyRefund.model_validate(load_json(body))
    order = await _order(unit, shop, str(data.order_id), "refunds/create")
    if order is None:
        return None
    amount, currency = refunded(
        Transaction(t.kind, t.status, t.amount, t.currency) for t in data.transactions
    )
    if amount <= 0:
        unit.record(
            order,
            "refund_without_money",
            cause,
            reason="a storefront refund with no successful refund transaction",
            details={"storefront_refund_id": str(data.id)},
        )
        return order
    refund = Refund(
        external_id=str(data.id),
        amount=amount,
        currency=currency or order.currency,
        note=data.note,
        refunded_at=to_utc(data.created_at) if data.created_at else utcnow(),
    )
    await record_refund(unit, order, refund, cause)
    return order


async def woo_refunds(unit: OrderUnit, order: Order, co: CanonicalOrder, cause: Cause) -> None:
    """The refunds a WooCommerce order lists: each one not recorded yet (WooCommerce sends
    the order, refunds and all, on every change)."""
    for r in co.refunds:
        refund = Refund(
            external_id=r.external_id,
            amount=r.amount,
            currency=co.currency,
            note=r.note,
            refunded_at=co.source_updated_at,  # the order's refunds carry no date
        )
        await record_refund(unit, order, refund, cause)


async def shopify_return(
    unit: OrderUnit, shop: Shop, body: bytes, cause: Cause, received_at: dt.datetime
) -> Order | None:
    """A ``returns/request`` delivery: ``order.return_requested`` once per return, its
    lines mapped to ours by the storefront's line item id."""
    data = ShopifyReturn.model_validate(load_json(body))
    order = await _order(unit, shop, str(data.order.id), "returns/request")
    if order is None:
        return None
    key = data.admin_graphql_api_id or f"gid://shopify/Return/{data.id}"
    if key in await _seen(unit, order, RETURN_KIND, "storefront_return_id"):
        return order
    ours = {line.external_id: line.id for line in order.lines if line.external_id}
    lines = []
    for item in data.return_line_items:
        fli = item.fulfillment_line_item
        external = str(fli.line_item.id) if fli and fli.line_item else None
        lines.append(RefundLineV1(line_id=ours.get(external or ""), quantity=item.quantity))
    notes = [
        text
        for item in data.return_line_items
        for text in (clean_text(item.customer_note), clean_text(item.return_reason_note))
        if text
    ]
    reason = return_reason(item.return_reason for item in data.return_line_items)
    event = OrderReturnRequested(
        order_id=order.id,
        shop_id=order.shop_id,
        storefront_return_id=key,
        reason=reason,
        lines=lines,
        # a redacted order keeps nothing the buyer wrote
        buyer_note=None if order.redacted_at or not notes else "\n".join(dict.fromkeys(notes)),
        requested_at=received_at,
    )
    message_id = uuid.uuid5(_RETURN_NS, f"{order.shop_id}:{key}")
    await unit.publish(order, event, cause, message_id=message_id)
    unit.record(
        order,
        RETURN_KIND,
        cause,
        reason=f"the buyer asked for a return ({reason})",
        details={
            "storefront_return_id": key,
            "lines": [
                {"line_id": str(x.line_id) if x.line_id else None, "quantity": x.quantity}
                for x in lines
            ],
        },
    )
    return order
