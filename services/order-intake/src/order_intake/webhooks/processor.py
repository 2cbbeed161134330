"""Processes stored webhook deliveries after commit: parse, ingest, confirm.

Woken right after the request's commit and polling too (deliveries left by a crash
or waiting for a retry). Deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` so
replicas share the work; each is processed in a savepoint so one bad delivery does
not hold back the others, and a failing one is retried with backoff, then parked as
``failed`` for an operator (``GET /v1/webhook-deliveries?status=failed``, retry)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.backoff import backoff_interval
from dropship_common.db import Database, utcnow
from dropship_common.notify import listen_forever
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever, every
from order_intake.domain.lifecycle import cancels
from order_intake.domain.order import CanonicalOrder
from order_intake.models import Order, Shop, WebhookDelivery
from order_intake.orders.batch import prefetch
from order_intake.orders.idempotency import purge_idempotency_keys
from order_intake.orders.repository import OrderRepository
from order_intake.orders.service import Cause, Orders, OrderUnit
from order_intake.storefront_aftersales.service import shopify_refund, shopify_return, woo_refunds
from order_intake.storefront_sync.feed import is_reconciled
from order_intake.storefront_sync.repository import has_credentials
from order_intake.storefronts import shopify, woocommerce
from order_intake.webhooks.compliance import handle_compliance
from order_intake.webhooks.refusals import RefusalReason, refused
from order_intake.webhooks.repository import CONFIRM_FLAG, CONFIRMING, DeliveryRepository
from order_intake.webhooks.topics import (
    SHOPIFY_AFTERSALES_TOPICS,
    SHOPIFY_COMPLIANCE_TOPICS,
    WooDeleted,
    shape_problem,
)
from order_intake.workers_wiring import WEBHOOK_CHANNEL, webhook_backlog

log = structlog.get_logger(__name__)

# the fast path failed: a bad delivery (expected now and then) or a bug in the bulk write
# (every batch: the rate drops several times over). The log says which.
BATCH_FALLBACKS = Counter(
    "webhook_batch_fallbacks",
    "Webhook batches rolled back and processed one delivery at a time",
)

MAX_ATTEMPTS = 10
BATCH = 100


def parse_order(delivery: WebhookDelivery) -> CanonicalOrder | None:
    """The storefront order a delivery carries (None for compliance, aftersales signals
    and deletions)."""
    body = delivery.body or b""
    if delivery.platform == "shopify":
        if delivery.topic in SHOPIFY_COMPLIANCE_TOPICS | SHOPIFY_AFTERSALES_TOPICS:
            return None
        return shopify.parse_order(body)
    return None if delivery.topic == "order.deleted" else woocommerce.parse_order(body)


async def process_delivery(
    orders: Orders, delivery: WebhookDelivery, parsed: CanonicalOrder | None = None
) -> None:
    unit = orders.unit
    shop = await unit.shop(delivery.shop_id)
    body = delivery.body or b""
    reconciled = is_reconciled(delivery)
    cause = Cause(
        actor=f"{'reconcile' if reconciled else 'webhook'}:{delivery.platform}",
        ref=f"{delivery.topic}#{delivery.delivery_id}",
    )
    compliance = delivery.platform == "shopify" and delivery.topic in SHOPIFY_COMPLIANCE_TOPICS
    deletion = delivery.platform == "woocommerce" and delivery.topic == "order.deleted"
    signal = delivery.platform == "shopify" and delivery.topic in SHOPIFY_AFTERSALES_TOPICS
    if compliance or deletion or signal:
        # these read orders back: the ones created earlier in the same batch must be
        # in the database first (sessions do not autoflush), and the events already
        # held for the batch in the outbox before what these write (a redaction's
        # order.redacted must come after the order.confirmed it follows)
        await unit.flush()
        await unit.session.flush()
    if compliance:
        await handle_compliance(unit, shop, delivery.topic, body, cause)
        return
    if signal:
        if delivery.topic == "returns/request":
            found = await shopify_return(unit, shop, body, cause, delivery.received_at)
        else:
            found = await shopify_refund(unit, shop, body, cause)
        delivery.order_id = found.id if found else None
        return
    if deletion:
        external_id = str(orjson.loads(body)["id"])
        found = await OrderRepository(unit.session).by_external(shop.id, external_id)
        if found is None or found.status == "cancelled":
            return
        problem = shape_problem(
            delivery.platform, delivery.topic, WooDeleted.model_validate_json(body)
        )
        if problem is not None:  # stored before the door checked it
            refuse_destructive(unit, delivery, found, cause, problem)
            return
        if has_credentials(shop) and not reconciled:
            _await_confirmation(unit, delivery, found, cause)
            return
        await orders.operator.cancel(found.id, "deleted at the storefront", cause)
        delivery.order_id = found.id
        return
    co = parsed or parse_order(delivery)
    assert co is not None  # an order topic
    if co.payment_for_case is not None:
        # the buyer's payment for a case (its link made by the credit worker, which
        # sees it paid): money in, nothing to send
        log.info("payment_order_not_fulfilled", shop=str(shop.id), case=co.payment_for_case)
        return
    if reconciled:
        # found by reconciliation: a version already applied (its webhook came after
        # all) changes nothing
        known = await unit.stored(shop.id, co.external_id)
        if known is not None and known.source_updated_at >= co.source_updated_at:
            delivery.order_id = known.id
            return
    elif cancels(co) and (held := await _to_confirm(unit, shop, co)) is not None:
        _await_confirmation(unit, delivery, held, cause)
        return
    order = await orders.intake.ingest(shop, co, cause)
    delivery.order_id = order.id
    if co.refunds:  # WooCommerce lists the order's refunds on every version
        await woo_refunds(unit, order, co, cause)


async def _to_confirm(unit: OrderUnit, shop: Shop, co: CanonicalOrder) -> Order | None:
    """The order a webhook's cancelling version would cancel, when that must first be
    confirmed with the storefront's API: the shop has credentials and we hold the order,
    not cancelled, at this version or an older one (an older version than ours is
    ignored by the intake anyway, see :meth:`StorefrontIntake.ingest`)."""
    if not has_credentials(shop):
        return None
    known = await unit.stored(shop.id, co.external_id)
    if known is None or known.status == "cancelled":
        return None
    return known if co.source_updated_at >= known.source_updated_at else None


def refuse_destructive(
    unit: OrderUnit,
    delivery: WebhookDelivery,
    order: Order,
    cause: Cause,
    why: str,
    reason: RefusalReason = "shape",
    details: dict[str, Any] | None = None,
) -> None:
    """A destructive delivery not applied: on the order's timeline, logged, counted."""
    refused(
        delivery.platform,
        delivery.topic,
        reason,
        why,
        shop=str(order.shop_id),
        order=str(order.id),
        delivery=delivery.delivery_id,
    )
    unit.record(order, "destructive_webhook_refused", cause, reason=why, details=details)
    delivery.order_id = order.id


def _await_confirmation(
    unit: OrderUnit, delivery: WebhookDelivery, order: Order, cause: Cause
) -> None:
    """Left for :mod:`.confirmation`, which asks the storefront (never inside the
    webhook's answer, nor with this transaction open)."""
    delivery.status = CONFIRMING
    delivery.order_id = order.id
    delivery.next_attempt_at = utcnow()
    unit.record(
        order,
        "storefront_confirmation_pending",
        cause,
        reason="a destructive change: applied once the storefront's API confirms it",
    )
    unit.session.info[CONFIRM_FLAG] = True


def _done(delivery: WebhookDelivery) -> None:
    if delivery.status != CONFIRMING:  # else not applied yet
        mark_processed(delivery)


def mark_processed(delivery: WebhookDelivery) -> None:
    delivery.status = "processed"
    delivery.processed_at = utcnow()
    delivery.body = None  # personal data: not kept once applied
    delivery.last_error = None


def backoff(attempts: int) -> dt.timedelta:
    """After the ``attempts``-th failure: 2 s, 4 s, 8 s, ... up to an hour."""
    return backoff_interval(attempts, base=2.0, cap=3600.0)


class WebhookProcessor:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.rt = runtime
        self.db: Database = runtime.db
        self.signal: CommitSignal = runtime.state["webhook_signal"]
        self.backlog = webhook_backlog(runtime)

    async def run(self) -> None:
        await drain_forever(
            "webhook-processor",
            self.process_batch,
            self.signal,
            poll_seconds=self.rt.settings.outbox_poll_seconds,
            batch_size=BATCH,
            backlog=self.backlog,
        )

    async def process_batch(self) -> int:
        """A batch goes through in one go (orders and products read up front, one
        flush); if any delivery in it fails, the batch is rolled back and its
        deliveries are processed one by one, each in a savepoint."""
        async with self.db.transaction() as session:
            repo = DeliveryRepository(session)
            deliveries = await repo.claim_due(BATCH)
            if not deliveries:
                return 0
            ids = [d.id for d in deliveries]
            try:
                async with session.begin_nested():
                    await self._all_at_once(session, deliveries)
                return len(deliveries)
            except Exception as exc:
                BATCH_FALLBACKS.inc()
                error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:2000]
                log.warning("webhook_batch_fallback", size=len(ids), error=error)
            await self._one_by_one(session, await repo.by_ids(ids))
            return len(deliveries)

    async def _all_at_once(self, session: AsyncSession, deliveries: list[WebhookDelivery]) -> None:
        parsed = {d.id: parse_order(d) for d in deliveries}
        # order versions only (no redaction or deletion that would read back what the
        # batch creates): new rows are written by statement at the end
        prefetched = await prefetch(
            session, [(d.shop_id, co) for d in deliveries if (co := parsed[d.id]) is not None]
        )
        # a refund's record is read back by the next delivery of the same order: not
        # in bulk (whose timeline entries are written only at the end)
        bulk = all(co is not None and not co.refunds for co in parsed.values())
        orders = Orders(OrderUnit.batched(session, self.rt.outbox, prefetched, bulk=bulk))
        for delivery in deliveries:
            await process_delivery(orders, delivery, parsed[delivery.id])
            _done(delivery)
        await orders.unit.flush()
        await session.flush()

    async def _one_by_one(self, session: AsyncSession, deliveries: list[WebhookDelivery]) -> None:
        orders = Orders.direct(session, self.rt.outbox)
        for delivery in deliveries:
            # read now: a rolled-back savepoint may expire the row
            attempts, topic, ref = delivery.attempts, delivery.topic, delivery.delivery_id
            try:
                async with session.begin_nested():
                    await process_delivery(orders, delivery)
            except Exception as exc:
                error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:2000]
                delivery.attempts = attempts + 1
                delivery.last_error = error
                if attempts + 1 >= MAX_ATTEMPTS:
                    delivery.status = "failed"
                delivery.next_attempt_at = utcnow() + backoff(attempts + 1)
                log.warning(
                    "webhook_delivery_failed",
                    delivery=ref,
                    topic=topic,
                    attempts=attempts + 1,
                    error=error,
                )
                continue
            _done(delivery)


async def webhook_worker(runtime: ServiceRuntime) -> None:
    processor = WebhookProcessor(runtime)
    if not runtime.db.is_sqlite:  # an API process elsewhere NOTIFYs after its commits
        runtime.spawn(
            listen_forever(runtime.db.url, WEBHOOK_CHANNEL, processor.signal.set),
            "webhook-listener",
        )
    await processor.run()


async def purge(runtime: ServiceRuntime) -> None:
    """Processed deliveries older than a week (their ids deduplicate Shopify's retries,
    which stop after 48 hours) and answered idempotency keys."""
    async with runtime.db.transaction() as session:
        await DeliveryRepository(session).purge_processed(dt.timedelta(days=7))
        await purge_idempotency_keys(session, dt.timedelta(days=7))


async def purge_worker(runtime: ServiceRuntime) -> None:
    async def step() -> None:
        await purge(runtime)

    await every("purge", 3600, step)
