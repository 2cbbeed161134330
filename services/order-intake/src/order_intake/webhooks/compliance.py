"""Shopify's mandatory compliance webhooks: redaction removes the buyer's personal data
from our records; a data request is recorded for the merchant to answer."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from order_intake.models import BuyerMessage, ComplianceRequest, Order, Shop, WebhookDelivery
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, OrderOps
from order_intake.storefronts import load_json
from order_intake.webhooks.topics import CustomersDataRequest, CustomersRedact


def redact_order(order: Order) -> None:
    """Keep what the business needs (amounts, SKUs, country); drop who and where."""
    country = (order.shipping_address or {}).get("country_code")
    order.buyer = {"redacted": True}
    order.buyer_email = None
    order.shipping_address = {"country_code": country} if country else None
    order.billing_address = None
    order.note = None
    order.note_attributes = []
    order.redacted_at = utcnow()


async def _redact(ops: OrderOps, orders: list[Order], cause: Cause) -> None:
    ids = [o.id for o in orders]
    for order in orders:
        redact_order(order)
        ops.record(order, "redacted", cause, reason="personal data removed (Shopify request)")
    if ids:
        await ops.session.execute(sa.delete(BuyerMessage).where(BuyerMessage.order_id.in_(ids)))
        await ops.outbox.forget(ops.session, [str(i) for i in ids])
        await ops.session.execute(
            sa.update(WebhookDelivery).where(WebhookDelivery.order_id.in_(ids)).values(body=None)
        )


async def handle_compliance(
    ops: OrderOps, shop: Shop, topic: str, body: bytes, cause: Cause
) -> None:
    session: AsyncSession = ops.session
    repo = OrderRepository(session)
    data = load_json(body)
    customer_id: str | None = None
    external_ids: list[str] = []
    affected: list[Order] = []
    if topic == "customers/redact":
        req = CustomersRedact.model_validate(data)
        customer_id = str(req.customer.id) if req.customer.id is not None else None
        external_ids = [str(i) for i in req.orders_to_redact]
        affected = await repo.by_externals(shop.id, external_ids)
        if req.customer.email:
            email = req.customer.email.strip().lower()
            more = await session.scalars(
                sa.select(Order).where(Order.shop_id == shop.id, Order.buyer_email == email)
            )
            affected += [o for o in more if o not in affected]
        await _redact(ops, affected, cause)
    elif topic == "shop/redact":
        affected = await repo.of_shop(shop.id)
        await _redact(ops, affected, cause)
        shop.admin_credentials = None
        shop.active = False
    else:
        dr = CustomersDataRequest.model_validate(data)
        customer_id = str(dr.customer.id) if dr.customer.id is not None else None
        external_ids = [str(i) for i in dr.orders_requested]
        affected = await repo.by_externals(shop.id, external_ids)
    session.add(
        ComplianceRequest(
            id=uuid.uuid4(),
            shop_id=shop.id,
            topic=topic,
            customer_external_id=customer_id,
            order_external_ids=external_ids,
            orders_affected=len(affected),
        )
    )
