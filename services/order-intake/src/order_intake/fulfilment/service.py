"""A supplier shipped: record the parcels, move the order, queue the storefront
fulfilment and the buyer's "shipped" message, all in the consumer's transaction (the
worker and the mailer send them after commit)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.carriers import tracking_url, valid_tracking_url
from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from dropship_common.tracking_links import parcel_token
from order_intake.domain.lifecycle import OrderStatus
from order_intake.domain.shipping import progress, shipping_target
from order_intake.fulfilment.plugins import writes_back
from order_intake.fulfilment.repository import FulfilmentRepository
from order_intake.messages.links import help_page, help_text
from order_intake.messages.service import queue_buyer_message
from order_intake.messages.templates import SHIPPED_REST, language_of, parcels_text
from order_intake.models import Fulfilment, Order, Shop
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, Orders
from order_intake.shops.repository import ShopRepository

log = structlog.get_logger(__name__)

FULFILMENT_FLAG = "fulfilments_dirty"  # set on a session that queued a fulfilment


@dataclass(frozen=True)
class Recorded:
    new_numbers: list[str]
    status: str
    fulfilment_id: uuid.UUID | None


def _dedupe(numbers: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in numbers:
        n = n.strip().upper().replace(" ", "")
        if n:
            seen.setdefault(n, None)
    return list(seen)


def _tracking_urls(
    event: ShipmentTrackingAssigned, carrier: str, numbers: list[str]
) -> dict[str, str]:
    """Each number's tracking page: the supplier's own when it gave a valid https one
    (CJ's trackingUrl), else the carrier's page we know (or 17TRACK)."""
    given = {_dedupe([n])[0]: url for n, url in event.tracking_urls.items() if _dedupe([n])}
    return {
        n: given[n] if valid_tracking_url(given.get(n)) else tracking_url(carrier, n)
        for n in numbers
    }


def message_key(number: str) -> str:
    """The buyer message's dedupe key (40 characters at most)."""
    return number if len(number) <= 40 else hashlib.sha256(number.encode()).hexdigest()[:40]


async def record_tracking(
    session: AsyncSession,
    outbox: Outbox,
    event: ShipmentTrackingAssigned,
    cause: Cause,
    tracking_page_base_url: str | None = None,
    aftersales_base_url: str | None = None,
) -> Recorded | None:
    """Idempotent: numbers already recorded for the order add nothing (no second
    fulfilment, no second message). With ``tracking_page_base_url`` (logistics' public
    address) the buyer's "shipped" e-mail links each parcel to its page on logistics
    (``/track/<token>``, the token signed for that parcel); the storefront keeps the
    carrier's page. With ``aftersales_base_url`` it links to the order's help page."""
    order = await OrderRepository(session).get(event.order_id, for_update=True)
    if order is None:
        log.warning("tracking_for_unknown_order", order=str(event.order_id))
        return None
    shop = await ShopRepository(session).get(order.shop_id)
    assert shop is not None
    repo = FulfilmentRepository(session)
    orders = Orders.direct(session, outbox)
    now = utcnow()
    order_lines = {line.id for line in order.lines}
    line_ids = [str(i) for i in event.line_ids if i in order_lines]
    if len(line_ids) < len(event.line_ids):
        log.warning("tracking_with_unknown_lines", order=str(order.id))
    carrier = event.carrier.strip()[:100] or "unknown"
    numbers = _dedupe(event.tracking_numbers)
    urls = _tracking_urls(event, carrier, numbers)
    new = set(
        await repo.add_parcels(
            [
                {
                    "id": uuid.uuid4(),
                    "order_id": order.id,
                    "tracking_number": n,
                    "carrier": carrier,
                    "tracking_url": urls[n],
                    "supplier_order_id": event.supplier_order_id,
                    "supplier_id": event.supplier_id,
                    "line_ids": line_ids,
                    "shipped_at": event.shipped_at,
                    "created_at": now,
                }
                for n in numbers
            ]
        )
    )
    fresh = [n for n in numbers if n in new]
    if not fresh:
        return Recorded([], order.status, None)

    details = {
        "carrier": carrier,
        "tracking_numbers": fresh,
        "supplier_order_id": str(event.supplier_order_id),
        "line_ids": line_ids,
    }
    orders.unit.record(
        order,
        "parcel_shipped",
        cause,
        reason=f"{carrier} {', '.join(fresh)}",
        details=details,
        at=now,
    )
    if event.case_id is not None:
        # an aftersales reship: its lines were shipped (and written back) already, so
        # the order's status and the storefront's fulfilment stay as they are (Shopify
        # refuses to fulfil a line twice); the parcel is recorded (logistics follows it)
        # and the buyer hears of the replacement from aftersales, not "your order shipped"
        replacement = {**details, "case_id": str(event.case_id)}
        orders.unit.record(order, "replacement_shipped", cause, details=replacement, at=now)
        return Recorded(fresh, order.status, None)
    if order.status == OrderStatus.CANCELLED:
        # a cancellation came too late: aftersales handles the return; the storefront
        # order is cancelled, so nothing is written back and the buyer is not told here
        orders.unit.record(order, "parcel_after_cancellation", cause, details=details, at=now)
        return Recorded(fresh, order.status, None)

    shipping = progress(
        (line.id for line in order.lines if line.requires_shipping),
        ([uuid.UUID(i) for i in ids] for ids in await repo.parcel_lines(order.id)),
    )
    target = shipping_target(OrderStatus(order.status), shipping)
    if target is not None:
        shipped, total = len(shipping.covered), len(shipping.covered | shipping.missing)
        why = "every line shipped" if shipping.complete else f"{shipped} of {total} lines shipped"
        await orders.transitions.move(shop, order, target, cause, now, why=why)

    fulfilment_id = None
    if writes_back(order.platform):
        fulfilment = Fulfilment(
            id=uuid.uuid4(),
            order_id=order.id,
            shop_id=shop.id,
            platform=order.platform,
            tracking_number=fresh[0],
            tracking_numbers=fresh,
            tracking_urls=[urls[n] for n in fresh],
            carrier=carrier,
            line_ids=line_ids,
            completes_order=shipping.complete,
            shipped_at=event.shipped_at,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        repo.add(fulfilment)
        await session.flush()
        await repo.link_parcels(order.id, fresh, fulfilment.id)
        session.info[FULFILMENT_FLAG] = True
        fulfilment_id = fulfilment.id

    buyer_urls = dict(urls)
    if tracking_page_base_url:
        base = tracking_page_base_url.rstrip("/")
        buyer_urls = {n: f"{base}/track/{parcel_token(event.supplier_order_id, n)}" for n in fresh}
    await _queue_shipped_message(
        session,
        order,
        shop,
        carrier,
        fresh,
        buyer_urls,
        complete=shipping.complete,
        help_url=help_page(aftersales_base_url, order.id),
    )
    return Recorded(fresh, order.status, fulfilment_id)


async def _queue_shipped_message(
    session: AsyncSession,
    order: Order,
    shop: Shop,
    carrier: str,
    numbers: list[str],
    urls: dict[str, str],
    *,
    complete: bool,
    help_url: str | None,
) -> None:
    language = language_of(order.buyer.get("language") or shop.buyer_language, SHIPPED_REST)
    parcels = [{"carrier": carrier, "tracking_number": n, "tracking_url": urls[n]} for n in numbers]
    await queue_buyer_message(
        session,
        order,
        shop,
        "order_shipped",
        {
            "parcels": parcels_text(language, parcels),
            "rest": "" if complete else SHIPPED_REST[language],
            "help": help_text(language, help_url),
        },
        dedupe_key=message_key(numbers[0]),
    )
