"""Shopify's mandatory compliance webhooks: redaction removes the buyer's personal data
from our records; a data request is recorded for the merchant to answer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.order_intake import OrderRedacted
from dropship_common.db import utcnow
from order_intake.messages.repository import BuyerMessageRepository
from order_intake.models import (
    ComplianceRequest,
    Order,
    Shop,
)
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, OrderUnit
from order_intake.storefronts import load_json
from order_intake.webhooks.repository import DeliveryRepository
from order_intake.webhooks.topics import CustomersDataRequest, CustomersRedact

# what a hold reason's or warning's details may quote of the buyer's address or contact
PERSONAL_KEYS = frozenset(
    {"name", "company", "line1", "line2", "city", "province", "postal_code", "phone", "email"}
)


def scrub_issues(issues: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Hold reasons and warnings without what they quoted of the buyer (a phone number,
    a postal code): those details go, and so does a message that may repeat them. The
    issue stays valid (code, field, message, the other details: a supplier's rejection
    is still recognised when the order is evaluated again)."""
    scrubbed = []
    for issue in issues or []:
        details = dict(issue.get("details") or {})
        quoted = [key for key in details if key in PERSONAL_KEYS]
        for key in quoted:
            del details[key]
        message = issue.get("message") or ""
        if quoted:
            message = f"{issue.get('code')}: removed with the buyer's personal data"
        scrubbed.append({**issue, "message": message, "details": details})
    return scrubbed


def redact_order(order: Order) -> None:
    """Keep what the business needs (amounts, SKUs, country); drop who and where."""
    country = (order.shipping_address or {}).get("country_code")
    order.buyer = {"redacted": True}
    order.buyer_email = None
    order.shipping_address = {"country_code": country} if country else None
    order.billing_address = None
    order.note = None
    order.note_attributes = []
    order.hold_reasons = scrub_issues(order.hold_reasons)
    order.warnings = scrub_issues(order.warnings)
    order.redacted_at = utcnow()


async def _scrub_timeline(session: AsyncSession, order_ids: list[uuid.UUID]) -> None:
    """The hold reasons and warnings quoted in the orders' timeline entries."""
    for event in await OrderRepository(session).timeline_with_details(order_ids):
        details = dict(event.details or {})
        changed = False
        for key in ("reasons", "warnings"):
            if isinstance(details.get(key), list):
                details[key] = scrub_issues(details[key])
                changed = True
        if changed:
            event.details = details


async def _redact(unit: OrderUnit, orders: list[Order], cause: Cause) -> None:
    ids = [o.id for o in orders]
    for order in orders:
        redact_order(order)
        unit.record(order, "redacted", cause, reason="personal data removed (Shopify request)")
    if ids:
        await _scrub_timeline(unit.session, ids)
        await BuyerMessageRepository(unit.session).delete_of_orders(ids)
        await unit.outbox.forget(unit.session, [str(i) for i in ids])
        # supplier-gateway keeps copies (the confirmed order, the shipping notices)
        for o in orders:
            event = OrderRedacted(
                order_id=o.id, shop_id=o.shop_id, redacted_at=o.redacted_at or utcnow()
            )
            await unit.publish(o, event, cause)
        await DeliveryRepository(unit.session).forget_bodies(ids)


async def handle_compliance(
    unit: OrderUnit, shop: Shop, topic: str, body: bytes, cause: Cause
) -> None:
    session: AsyncSession = unit.session
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
            more = await repo.by_buyer_email(shop.id, email)
            affected += [o for o in more if o not in affected]
        await _redact(unit, affected, cause)
    elif topic == "shop/redact":
        affected = await repo.of_shop(shop.id)
        await _redact(unit, affected, cause)
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
