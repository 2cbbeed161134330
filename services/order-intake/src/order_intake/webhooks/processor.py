"""Processes stored webhook deliveries after commit: parse, ingest, confirm.

Woken right after the request's commit and polling too (deliveries left by a crash
or waiting for a retry). Deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` so
replicas share the work; each is processed in a savepoint so one bad delivery does
not hold back the others, and a failing one is retried with backoff, then parked as
``failed`` for an operator (``GET /v1/webhook-deliveries?status=failed``, retry)."""

from __future__ import annotations

import asyncio
import datetime as dt

import orjson
import structlog

from dropship_common.db import Database, utcnow
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from order_intake.models import WebhookDelivery
from order_intake.orders.idempotency import purge_idempotency_keys
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, OrderOps
from order_intake.shops.repository import ShopRepository
from order_intake.storefronts import shopify, woocommerce
from order_intake.webhooks.compliance import handle_compliance
from order_intake.webhooks.repository import WEBHOOK_FLAG, DeliveryRepository
from order_intake.webhooks.topics import SHOPIFY_COMPLIANCE_TOPICS

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 10
BATCH = 50


async def process_delivery(ops: OrderOps, delivery: WebhookDelivery) -> None:
    shop = await ShopRepository(ops.session).get(delivery.shop_id)
    assert shop is not None
    body = delivery.body or b""
    cause = Cause(
        actor=f"webhook:{delivery.platform}", ref=f"{delivery.topic}#{delivery.delivery_id}"
    )
    if delivery.platform == "shopify":
        if delivery.topic in SHOPIFY_COMPLIANCE_TOPICS:
            await handle_compliance(ops, shop, delivery.topic, body, cause)
            return
        order = await ops.ingest(shop, shopify.parse_order(body), cause)
    elif delivery.topic == "order.deleted":
        external_id = str(orjson.loads(body)["id"])
        found = await OrderRepository(ops.session).by_external(shop.id, external_id)
        if found is None or found.status == "cancelled":
            return
        await ops.cancel(found.id, "deleted at the storefront", cause)
        order = found
    else:
        order = await ops.ingest(shop, woocommerce.parse_order(body), cause)
    delivery.order_id = order.id


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 2**attempts))


class WebhookProcessor:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.rt = runtime
        self.db: Database = runtime.db
        self.signal = CommitSignal(self.db, WEBHOOK_FLAG)

    async def run(self) -> None:
        await drain_forever(
            "webhook-processor",
            self.process_batch,
            self.signal,
            poll_seconds=self.rt.settings.outbox_poll_seconds,
            batch_size=BATCH,
        )

    async def process_batch(self) -> int:
        async with self.db.transaction() as session:
            deliveries = await DeliveryRepository(session).claim_due(BATCH)
            ops = OrderOps(session, self.rt.outbox)
            for delivery in deliveries:
                # read now: a rolled-back savepoint may expire the row
                attempts, topic, ref = delivery.attempts, delivery.topic, delivery.delivery_id
                try:
                    async with session.begin_nested():
                        await process_delivery(ops, delivery)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:2000]
                    delivery.attempts = attempts + 1
                    delivery.last_error = error
                    if attempts + 1 >= MAX_ATTEMPTS:
                        delivery.status = "failed"
                    delivery.next_attempt_at = utcnow() + _backoff(attempts + 1)
                    log.warning(
                        "webhook_delivery_failed",
                        delivery=ref,
                        topic=topic,
                        attempts=attempts + 1,
                        error=error,
                    )
                    continue
                delivery.status = "processed"
                delivery.processed_at = utcnow()
                delivery.body = None  # personal data: not kept once applied
                delivery.last_error = None
            return len(deliveries)


async def webhook_worker(runtime: ServiceRuntime) -> None:
    await WebhookProcessor(runtime).run()


async def purge_worker(runtime: ServiceRuntime) -> None:
    """Hourly: processed deliveries older than a week (their ids deduplicate Shopify's
    retries, which stop after 48 hours) and answered idempotency keys."""
    while True:
        try:
            async with runtime.db.transaction() as session:
                await DeliveryRepository(session).purge_processed(dt.timedelta(days=7))
                await purge_idempotency_keys(session, dt.timedelta(days=7))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("purge_failed", error=str(exc))
        await asyncio.sleep(3600)
