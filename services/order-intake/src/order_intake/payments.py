"""The payment window: unpaid orders get reminders at the shop's chosen days and are
cancelled when the window (default 20 days) ends."""

from __future__ import annotations

import datetime as dt

import structlog

from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import every
from order_intake.domain.lifecycle import (
    OrderStatus,
    due_reminders,
    is_payment_window_over,
    payment_deadline,
)
from order_intake.messages.service import queue_buyer_message
from order_intake.models import Order, Shop
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, Orders
from order_intake.shops.repository import ShopRepository

log = structlog.get_logger(__name__)

SWEEP_CAUSE = Cause(actor="system:payment-window")


async def _sweep_one(orders: Orders, shop: Shop, order: Order, now: dt.datetime) -> str | None:
    if is_payment_window_over(order.placed_at, now, shop.payment_window_days):
        await orders.transitions.move(
            shop,
            order,
            OrderStatus.CANCELLED,
            SWEEP_CAUSE,
            now,
            why=f"not paid within {shop.payment_window_days} days",
        )
        await queue_buyer_message(
            orders.unit.session,
            order,
            shop,
            "order_cancelled_unpaid",
            {"window_days": shop.payment_window_days},
        )
        return "cancelled"
    sent = set(order.reminders_sent)
    reminded = None
    for day in due_reminders(order.placed_at, now, shop.payment_reminder_days, sent):
        deadline = payment_deadline(order.placed_at, shop.payment_window_days)
        queued = await queue_buyer_message(
            orders.unit.session,
            order,
            shop,
            "payment_reminder",
            {"deadline": deadline.date().isoformat()},
            dedupe_key=f"day-{day}",
        )
        sent.add(day)
        if queued:
            orders.unit.record(order, "payment_reminder", SWEEP_CAUSE, reason=f"day {day}", at=now)
            reminded = "reminded"
    order.reminders_sent = sorted(sent)
    return reminded


async def sweep_payments(
    runtime: ServiceRuntime, now: dt.datetime | None = None, batch: int = 200
) -> dict[str, int]:
    """One pass over every unpaid order, a page per short transaction and a savepoint
    per order (one bad order does not stop the others); returns what it did."""
    now = now or utcnow()
    counts = {"reminded": 0, "cancelled": 0}
    after = None
    while True:
        async with runtime.db.transaction() as session:
            orders = Orders.direct(session, runtime.outbox)
            shops = ShopRepository(session)
            page = await OrderRepository(session).awaiting_payment(batch, after)
            for order in page:
                key = (order.placed_at, order.id)
                shop = await shops.get(order.shop_id)
                assert shop is not None
                try:
                    async with session.begin_nested():
                        done = await _sweep_one(orders, shop, order, now)
                except Exception as exc:
                    log.warning("payment_sweep_order_failed", order=str(key[1]), error=str(exc))
                    done = None
                if done:
                    counts[done] += 1
                after = key
        if len(page) < batch:
            return counts


async def payment_worker(runtime: ServiceRuntime, interval: float = 60.0) -> None:
    await every("payment_window_sweep", interval, lambda: sweep_payments(runtime))
