"""The reconciliation job: for each shop with admin credentials, every
``storefront_sync_seconds``, the orders changed at the storefront since the cursor
(minus an overlap) go through the webhook intake; once a day
(``webhook_check_seconds``) and when the shop is added, its webhook subscriptions are
checked and repaired.

Shops are claimed with a lease (``FOR UPDATE SKIP LOCKED``), so several worker
processes share them; the storefront is called with no transaction open."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from prometheus_client import Counter, Gauge

from dropship_common.db import Database, utcnow
from dropship_common.egress import EgressRules
from dropship_common.http import OutboundPolicy, make_client
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import every
from order_intake.config import OrderIntakeSettings, config_of
from order_intake.fulfilment.base import ShopAccess, StorefrontRejected, StorefrontUnavailable
from order_intake.fulfilment.routes import (
    Route,
    configured_routes,
    route_for,
    storefront_domain_problem,
)
from order_intake.fulfilment.worker import TRANSPORT_KEY
from order_intake.models import Shop, ShopSync
from order_intake.storefront_sync.base import StorefrontApi, WebhookHealth, WebhookTarget
from order_intake.storefront_sync.feed import missing, store
from order_intake.storefront_sync.repository import SyncRepository, has_credentials
from order_intake.storefront_sync.shopify import ShopifyApi
from order_intake.storefront_sync.woocommerce import WooCommerceApi

log = structlog.get_logger(__name__)

ORDERS_RECOVERED = Counter(
    "storefront_orders_recovered",
    "Order versions a webhook did not bring, found by reconciliation and taken in",
    ["platform"],
)
WEBHOOK_CHECKS = Counter(
    "storefront_webhook_checks",
    "Checks of a shop's webhook subscriptions, by result (ok, repaired, broken, error)",
    ["platform", "result"],
)
WEBHOOKS_BROKEN = Gauge(
    "storefront_webhooks_broken",
    "1 while a shop's webhook subscriptions are missing or disabled and we could not fix them",
    ["shop_id"],
)

APIS: dict[str, type[StorefrontApi]] = {api.platform: api for api in (WooCommerceApi, ShopifyApi)}
LEASE = dt.timedelta(minutes=10)
BATCH = 10
POLL_SECONDS = 30.0


def webhook_target(shop: Shop, settings: OrderIntakeSettings) -> WebhookTarget:
    path = "/webhooks/shopify" if shop.platform == "shopify" else f"/webhooks/woocommerce/{shop.id}"
    base = settings.webhook_base_url
    return WebhookTarget(
        callback_url=f"{base.rstrip('/')}{path}" if base else None,
        path=path,
        secret=shop.webhook_secrets[0],
    )


def storefront_api(
    shop: Shop,
    route: Route,
    transport: httpx.AsyncBaseTransport | None,
    settings: OrderIntakeSettings,
) -> tuple[StorefrontApi, httpx.AsyncClient] | None:
    api = APIS.get(shop.platform)
    if api is None:
        return None
    refused = storefront_domain_problem(shop.platform, shop.domain)
    if refused:  # before any call is made to it
        raise StorefrontRejected(refused)
    policy = OutboundPolicy(
        egress=EgressRules.from_settings(settings),
        allowed_hosts={route.host},
        allowed_schemes=frozenset({route.scheme}),
        # WooCommerce documents no limit and a shop's server is often small: modest
        # pacing. Shopify is paced by its query costs (the GraphQL client).
        rate_per_second=2.0 if shop.platform == "woocommerce" else None,
    )
    client = make_client(policy, base_url=route.base_url, transport=transport)
    access = ShopAccess(shop.id, shop.platform, shop.domain, dict(shop.admin_credentials or {}))
    return api(client, access, settings), client


@dataclass
class ShopSyncer:
    """Runs the checks for one shop at a time; shared by the worker, the API and the CLI."""

    db: Database
    settings: OrderIntakeSettings
    # the runtime's state, where tests put an inner transport (TRANSPORT_KEY)
    state: dict[str, Any] = field(default_factory=dict)
    routes: dict[str, Route] | None = None
    clock: Callable[[], dt.datetime] = utcnow

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        found: httpx.AsyncBaseTransport | None = self.state.get(TRANSPORT_KEY)
        return found

    def _route(self, domain: str) -> Route:
        if self.routes is None:
            self.routes = configured_routes()
        return route_for(domain, self.routes)

    async def _shop(self, shop_id: uuid.UUID) -> Shop | None:
        async with self.db.sessions() as session:
            return await session.get(Shop, shop_id)

    async def check_webhooks(self, shop_id: uuid.UUID) -> WebhookHealth | None:
        """Check (and repair) the shop's subscriptions now and record the result; None
        for a shop without admin credentials (or a platform with no API)."""
        shop = await self._shop(shop_id)
        if shop is None or not has_credentials(shop):
            return None
        made = storefront_api(shop, self._route(shop.domain), self.transport, self.settings)
        if made is None:
            return None
        api, client = made
        try:
            if (shop.admin_credentials or {}).get("manage_webhooks") is False:
                health = WebhookHealth("unmanaged")
            else:
                health = await self._check(api, shop)
        finally:
            await client.aclose()
        await self._record_health(shop, health)
        return health

    async def _check(self, api: StorefrontApi, shop: Shop) -> WebhookHealth:
        try:
            return await api.check_webhooks(webhook_target(shop, self.settings))
        except StorefrontRejected as exc:
            return WebhookHealth("broken", [f"webhooks could not be checked: {exc}"])
        except StorefrontUnavailable as exc:  # try again at the next sync
            return WebhookHealth("unchecked", [f"webhooks could not be checked now: {exc}"])

    async def _record_health(self, shop: Shop, health: WebhookHealth) -> None:
        now = self.clock()
        async with self.db.transaction() as session:
            row = await SyncRepository(session).ensure(shop)
            if row is None:
                return
            row.webhooks_problems = health.problems
            retry = health.status == "unchecked"
            row.next_webhook_check_at = now + dt.timedelta(
                seconds=self.settings.storefront_sync_seconds
                if retry
                else self.settings.webhook_check_seconds
            )
            if retry:
                WEBHOOK_CHECKS.labels(shop.platform, "error").inc()
                log.warning("webhook_check_failed", shop=str(shop.id), problems=health.problems)
                return
            row.webhooks_status, row.webhooks_checked_at = health.status, now
        WEBHOOK_CHECKS.labels(shop.platform, health.status).inc()
        WEBHOOKS_BROKEN.labels(str(shop.id)).set(1 if health.status == "broken" else 0)
        if health.status == "broken":
            log.warning(
                "shop_webhooks_broken",
                shop=str(shop.id),
                domain=shop.domain,
                problems=health.problems,
                repairs=health.repairs,
            )
        elif health.repairs:
            log.info("shop_webhooks_repaired", shop=str(shop.id), repairs=health.repairs)

    async def current_order(self, shop: Shop, external_id: str) -> bytes | None:
        """The order as the storefront's API gives it now, as its update webhook's body
        (None: the storefront has no such order). Raises StorefrontUnavailable /
        StorefrontRejected (no credentials, refused, no API for the platform)."""
        if not has_credentials(shop):
            raise StorefrontRejected("the shop has no admin credentials")
        made = storefront_api(shop, self._route(shop.domain), self.transport, self.settings)
        if made is None:
            raise StorefrontRejected(f"no admin API for {shop.platform}")
        api, client = made
        try:
            return await api.current_order(external_id)
        finally:
            await client.aclose()

    async def reconcile(self, shop_id: uuid.UUID) -> int:
        """Feed the orders changed since the cursor (minus the overlap); move the
        cursor to when this run started. Returns the order versions taken in."""
        shop = await self._shop(shop_id)
        if shop is None or not has_credentials(shop):
            return 0
        async with self.db.sessions() as session:
            row = await SyncRepository(session).get(shop.id)
        if row is None:
            return 0
        made = storefront_api(shop, self._route(shop.domain), self.transport, self.settings)
        if made is None:
            return 0
        api, client = made
        started = self.clock()
        since = row.orders_synced_until - dt.timedelta(
            seconds=self.settings.storefront_sync_overlap_seconds
        )
        fed = 0
        try:
            async for page in api.changed_orders(since):
                async with self.db.sessions() as session:
                    lacking = await missing(session, shop.id, page)
                if not lacking:
                    continue
                complete = await api.complete(lacking)  # no transaction open
                async with self.db.transaction() as session:  # a page at a time
                    fed += await store(session, shop.id, shop.platform, complete)
        finally:
            await client.aclose()
        async with self.db.transaction() as session:
            found = await SyncRepository(session).get(shop.id, for_update=True)
            if found is not None:
                found.orders_synced_until = max(found.orders_synced_until, started)
                found.orders_recovered += fed
                found.last_sync_at, found.last_sync_error = self.clock(), None
        if fed:
            ORDERS_RECOVERED.labels(shop.platform).inc(fed)
            log.warning("orders_recovered_by_reconciliation", shop=str(shop.id), orders=fed)
        return fed

    async def run_due(self) -> dict[str, int]:
        """One pass over the due shops: what the worker runs every ``POLL_SECONDS``."""
        now = self.clock()
        async with self.db.transaction() as session:
            repo = SyncRepository(session)
            await repo.ensure_all()
            claimed = [
                (row.shop_id, row.next_webhook_check_at <= now)
                for row in await repo.claim_due(now, LEASE, BATCH)
            ]
        counts = {"shops": 0, "orders_recovered": 0, "errors": 0}
        for shop_id, check_due in claimed:
            counts["shops"] += 1
            error: str | None = None
            try:
                if check_due:
                    await self.check_webhooks(shop_id)
                counts["orders_recovered"] += await self.reconcile(shop_id)
            except (StorefrontRejected, StorefrontUnavailable) as exc:
                error = mask_text(str(exc))[:1000]
            except Exception as exc:  # a bug or an answer we did not expect
                log.exception("reconciliation_crashed", shop=str(shop_id))
                error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000]
            await self._schedule(shop_id, error)
            counts["errors"] += error is not None
        return counts

    async def _schedule(self, shop_id: uuid.UUID, error: str | None) -> None:
        async with self.db.transaction() as session:
            row: ShopSync | None = await SyncRepository(session).get(shop_id, for_update=True)
            if row is None:
                return
            row.next_sync_at = self.clock() + dt.timedelta(
                seconds=self.settings.storefront_sync_seconds
            )
            if error is not None:
                row.last_sync_error = error
                log.warning("reconciliation_failed", shop=str(shop_id), error=error)


async def storefront_sync_worker(runtime: ServiceRuntime) -> None:
    syncer = ShopSyncer(runtime.db, config_of(runtime), runtime.state)
    await every("storefront-sync", POLL_SECONDS, syncer.run_due)
