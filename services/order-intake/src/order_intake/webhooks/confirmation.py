"""Destructive webhooks confirmed with the storefront's API before they are applied.

A storefront's topic header is not signed, and a signed body can be resent: when a shop
has admin credentials, a webhook that would cancel an order we hold (WooCommerce
``order.deleted``, a version that is cancelled, refunded or voided, Shopify's
``orders/cancelled``) is left ``confirming`` by the processor, and this worker asks the
storefront for the order, with no transaction open:

* the storefront has no such order (WooCommerce's 404 ``…_invalid_id``, Shopify's null
  ``order``): the order is cancelled, "deleted at the storefront";
* its current version cancels it too (a trashed, cancelled or refunded order): that
  version, the storefront's own, is applied;
* otherwise the webhook is refused: a timeline entry, a log line and
  ``webhook_destructive_refused{reason="not_confirmed"}``; nothing moves.

A storefront that cannot be reached (or refuses the credentials) means asking again
later, with backoff; after :data:`MAX_ATTEMPTS` the delivery is parked ``failed`` for an
operator, who can retry it. Never applied unconfirmed."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import orjson
import structlog

from dropship_common.db import Database, utcnow
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from order_intake.config import config_of
from order_intake.domain.lifecycle import cancels
from order_intake.domain.order import CanonicalOrder
from order_intake.fulfilment.base import StorefrontUnavailable
from order_intake.models import Shop, WebhookDelivery
from order_intake.orders.service import Cause, Orders
from order_intake.storefront_sync.job import ShopSyncer
from order_intake.storefronts import shopify, woocommerce
from order_intake.webhooks.processor import backoff, mark_processed, refuse_destructive
from order_intake.webhooks.refusals import DESTRUCTIVE_CONFIRMED
from order_intake.webhooks.repository import CONFIRM_FLAG, CONFIRMING, DeliveryRepository

log = structlog.get_logger(__name__)

BATCH = 10
POLL_SECONDS = 15.0
# with the processor's backoff (2 s doubling, at most an hour): about 14 hours of asking
MAX_ATTEMPTS = 24
DELETIONS = {"order.deleted"}  # topics whose body is the order's id alone


@dataclass(frozen=True)
class _Due:
    id: uuid.UUID
    platform: str
    topic: str
    body: bytes | None  # None once the order was redacted
    shop: Shop


def external_id(platform: str, body: bytes) -> str:
    """The order's id in a stored (already validated) order or deletion body."""
    data = orjson.loads(body)
    if platform == "shopify" and isinstance(data, dict) and set(data) == {"order"}:
        data = data["order"]
    return str(data["id"])


def _parse(platform: str, body: bytes) -> CanonicalOrder:
    if platform == "shopify":
        return shopify.parse_order(body)
    return woocommerce.parse_order(body)


async def apply(orders: Orders, delivery: WebhookDelivery, current: bytes | None) -> None:
    """Apply what the storefront says of the order a ``confirming`` delivery would
    cancel (``current``: its order now, None when it has none)."""
    shop = await orders.unit.shop(delivery.shop_id)
    cause = Cause(
        actor=f"webhook:{delivery.platform}", ref=f"{delivery.topic}#{delivery.delivery_id}"
    )
    order = await orders.unit.repo.by_external(
        shop.id, external_id(delivery.platform, delivery.body or b""), for_update=True
    )
    if order is None or order.status == "cancelled":
        return  # cancelled meanwhile: nothing left to do
    delivery.order_id = order.id
    if current is None:
        DESTRUCTIVE_CONFIRMED.labels(delivery.platform).inc()
        await orders.operator.cancel(order.id, "deleted at the storefront", cause)
        return
    now = _parse(delivery.platform, current)
    if cancels(now):
        DESTRUCTIVE_CONFIRMED.labels(delivery.platform).inc()
        await orders.intake.ingest(shop, now, cause)  # the storefront's own version
        return
    if delivery.topic not in DELETIONS:
        sent = _parse(delivery.platform, delivery.body or b"")
        if now.source_updated_at < sent.source_updated_at:
            # the API does not show the webhook's version yet (a signed version newer
            # than the storefront's own cannot be a replay): ask again later
            raise StorefrontUnavailable("the storefront's API does not show this version yet")
    refuse_destructive(
        orders.unit,
        delivery,
        order,
        cause,
        "the storefront's API says the order is neither deleted nor cancelled",
        "not_confirmed",
        {"topic": delivery.topic, "storefront_version": now.source_updated_at.isoformat()},
    )


class Confirmer:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.rt = runtime
        self.db: Database = runtime.db
        self.signal = CommitSignal(runtime.db, CONFIRM_FLAG)
        self.syncer = ShopSyncer(runtime.db, config_of(runtime), runtime.state)

    async def run(self) -> None:
        await drain_forever(
            "webhook-confirmer",
            self.confirm_batch,
            self.signal,
            poll_seconds=POLL_SECONDS,
            batch_size=BATCH,
        )

    async def confirm_batch(self) -> int:
        async with self.db.sessions() as session:
            rows = await DeliveryRepository(session).due_confirmations(BATCH)
            due = []
            for row in rows:
                shop = await session.get(Shop, row.shop_id)
                assert shop is not None
                due.append(_Due(row.id, row.platform, row.topic, row.body, shop))
        for item in due:
            await self._confirm(item)
        return len(due)

    async def _confirm(self, item: _Due) -> None:
        try:
            current: bytes | None = None
            if item.body is not None:  # else redacted meanwhile: nothing left to apply
                order_id = external_id(item.platform, item.body)
                current = await self.syncer.current_order(item.shop, order_id)
            async with self.db.transaction() as session:
                delivery = await DeliveryRepository(session).get(item.id)
                if delivery is None or delivery.status != CONFIRMING:
                    return  # done by another replica
                if delivery.body is not None:
                    await apply(Orders.direct(session, self.rt.outbox), delivery, current)
                mark_processed(delivery)
        except Exception as exc:  # unreachable, refused, or an answer we could not read
            await self._later(item, exc)

    async def _later(self, item: _Due, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:2000]
        async with self.db.transaction() as session:
            delivery = await DeliveryRepository(session).get(item.id)
            if delivery is None or delivery.status != CONFIRMING:
                return
            delivery.attempts += 1
            delivery.last_error = error
            asked = getattr(exc, "retry_after", None) or 0.0
            delivery.next_attempt_at = utcnow() + max(
                backoff(delivery.attempts), dt.timedelta(seconds=float(asked))
            )
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
            attempts = delivery.attempts
        log.warning(
            "webhook_confirmation_failed",
            delivery=str(item.id),
            topic=item.topic,
            attempts=attempts,
            error=error,
        )


async def confirm_worker(runtime: ServiceRuntime) -> None:
    await Confirmer(runtime).run()
