"""Reconciliation with the storefront and its webhook subscriptions, on real PostgreSQL +
RabbitMQ, against the fake WooCommerce (in-process, behind FakeNetwork)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from dropship_common.db import utcnow
from dropship_testkit.fakes import FakeNetwork, FakeWooCommerce
from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.storefront import create_shop, woo_headers, woo_order_body
from dropship_testkit.tap import eventually
from order_intake.fulfilment.worker import TRANSPORT_KEY
from order_intake.main import SPEC
from order_intake.shops import endpoints as shop_endpoints
from order_intake.storefront_sync.base import FetchedOrder
from order_intake.storefront_sync.feed import feed
from order_intake.storefront_sync.job import ShopSyncer
from order_intake.webhooks.repository import DeliveryRepository

pytestmark = pytest.mark.integration

WOO_DOMAIN = "woo.example.com"
WOO_SECRET = "woo-secret-123"
CK, CS = "ck_0123456789", "cs_abcdef0123"
BASE = "https://hooks.dropship.example"
TOPICS = ("order.created", "order.updated", "order.deleted")


@dataclass
class World:
    svc: RunningService
    woo: FakeWooCommerce

    @property
    def h(self) -> dict[str, str]:
        return self.svc.admin_headers

    def syncer(self, clock: Any = utcnow) -> ShopSyncer:
        return ShopSyncer(
            self.svc.runtime.db, self.svc.settings, self.svc.runtime.state, clock=clock
        )

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.svc.client.get(path, headers=self.h, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    async def add_shop(self, **credentials: Any) -> dict[str, Any]:
        r = await self.svc.client.post(
            "/v1/shops",
            headers=self.h,
            json={
                "platform": "woocommerce",
                "domain": WOO_DOMAIN,
                "webhook_secret": WOO_SECRET,
                "admin_credentials": {"consumer_key": CK, "consumer_secret": CS, **credentials},
            },
        )
        assert r.status_code == 201, r.text
        shop: dict[str, Any] = r.json()
        r = await self.svc.client.post(
            "/v1/products",
            headers=self.h,
            json={"shop_id": shop["id"], "products": [{"sku": "Bar3"}, {"sku": "Foo1"}]},
        )
        assert r.status_code == 201, r.text
        return shop

    def subscribe_all(self, shop_id: str) -> dict[str, int]:
        url = f"{BASE}/webhooks/woocommerce/{shop_id}"
        return {topic: self.woo.add_webhook(topic, url, secret=WOO_SECRET) for topic in TOPICS}

    async def wait_order(self, shop_id: str, external_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            for o in (await self.get("/v1/orders", shop_id=shop_id))["items"]:
                if o["external_id"] == external_id and o["status"] == status:
                    found: dict[str, Any] = await self.get(f"/v1/orders/{o['id']}")
                    return found
            return None

        return await eventually(probe)

    async def pending_deliveries(self) -> int:
        return len(
            [d for d in await self.get("/v1/webhook-deliveries") if d["status"] == "pending"]
        )

    async def all_processed(self) -> None:
        async def probe() -> bool:
            return await self.pending_deliveries() == 0

        await eventually(probe)


def woo_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(woo_order_body())
    order["line_items"][0]["sku"] = "Foo1"  # every line known: the order is confirmed
    order.update(changes)
    return order


@pytest.fixture
async def w(start_service) -> World:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, webhook_base_url=BASE)
    woo = FakeWooCommerce(CK, CS)
    svc.runtime.state[TRANSPORT_KEY] = FakeNetwork({WOO_DOMAIN: woo})
    return World(svc, woo)


def kinds(order: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in order["timeline"]]


# --- missed orders ----------------------------------------------------------------------


async def test_a_missed_webhook_order_arrives_through_reconciliation_exactly_once(
    w: World,
) -> None:
    shop = await w.add_shop()
    w.subscribe_all(shop["id"])
    # the order.created webhook was lost (a 503 while PostgreSQL restarted)
    w.woo.put_order(woo_order(), modified=utcnow())

    syncer = w.syncer()
    assert await syncer.reconcile(uuid.UUID(shop["id"])) == 1
    order = await w.wait_order(shop["id"], "727", "confirmed")
    # the next runs look back over the same window: the same version again, nothing new
    assert await syncer.reconcile(uuid.UUID(shop["id"])) == 0
    assert await syncer.reconcile(uuid.UUID(shop["id"])) == 0
    await w.all_processed()

    order = await w.get(f"/v1/orders/{order['id']}")
    assert kinds(order).count("received") == 1 and "updated" not in kinds(order)
    received = next(e for e in order["timeline"] if e["kind"] == "received")
    assert received["actor"] == "reconcile:woocommerce"
    deliveries = [d for d in await w.get("/v1/webhook-deliveries") if d["topic"] == "order.updated"]
    assert len(deliveries) == 1
    # asked as documented: GMT dates, a documented orderby, 100 a page
    [(_path, params), *_] = [q for q in w.woo.queries if q[0].endswith("/orders")]
    assert params["dates_are_gmt"] == "true" and params["per_page"] == "100"
    assert params["orderby"] == "id" and params["order"] == "asc"
    shown = await w.get(f"/v1/shops/{shop['id']}")
    assert shown["reconciliation"]["orders_recovered"] == 1
    assert shown["reconciliation"]["last_sync_error"] is None


async def _post_webhook(w: World, shop_id: str, body: bytes, topic: str) -> None:
    r = await w.svc.client.post(
        f"/webhooks/woocommerce/{shop_id}",
        content=body,
        headers=woo_headers(body, WOO_SECRET, topic=topic),
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text


def _resource(w: World, order_id: int = 727) -> bytes:
    """What WooCommerce's webhook carries: the REST order resource."""
    return json.dumps(w.woo.orders[order_id]["resource"]).encode()


async def test_a_delivered_order_is_not_duplicated(w: World) -> None:
    shop = await w.add_shop()
    w.woo.put_order(woo_order(), modified=utcnow())
    await _post_webhook(w, shop["id"], _resource(w), "order.created")
    order = await w.wait_order(shop["id"], "727", "confirmed")

    assert await w.syncer().reconcile(uuid.UUID(shop["id"])) == 0
    assert [d["topic"] for d in await w.get("/v1/webhook-deliveries")] == ["order.created"]
    order = await w.get(f"/v1/orders/{order['id']}")
    assert kinds(order).count("received") == 1 and "updated" not in kinds(order)
    shown = await w.get(f"/v1/shops/{shop['id']}")
    assert shown["reconciliation"]["orders_recovered"] == 0


async def test_a_missed_update_is_applied(w: World) -> None:
    shop = await w.add_shop()
    w.woo.put_order(woo_order(), modified=utcnow() - dt.timedelta(minutes=3))
    await _post_webhook(w, shop["id"], _resource(w), "order.created")
    await w.wait_order(shop["id"], "727", "confirmed")
    # cancelled at the storefront; the order.updated webhook never came
    w.woo.put_order(woo_order(status="cancelled"), modified=utcnow())

    assert await w.syncer().reconcile(uuid.UUID(shop["id"])) == 1
    order = await w.wait_order(shop["id"], "727", "cancelled")
    assert kinds(order).count("updated") == 1


async def test_an_order_trashed_at_the_storefront_is_cancelled_by_reconciliation(
    w: World,
) -> None:
    """WooCommerce's order list leaves the trash out unless asked (status=any): an
    order trashed while its order.deleted webhook was lost is still found and cancelled
    (found by review)."""
    shop = await w.add_shop()
    w.woo.put_order(woo_order(), modified=utcnow() - dt.timedelta(minutes=3))
    await _post_webhook(w, shop["id"], _resource(w), "order.created")
    await w.wait_order(shop["id"], "727", "confirmed")
    w.woo.put_order(woo_order(status="trash"), modified=utcnow())  # webhook lost

    assert await w.syncer().reconcile(uuid.UUID(shop["id"])) == 1
    await w.wait_order(shop["id"], "727", "cancelled")


async def test_a_webhook_and_reconciliation_of_one_version_in_one_batch_apply_once(
    w: World,
) -> None:
    """The webhook was still waiting to be processed when reconciliation stored the same
    version: both deliveries are processed, the order is taken in once."""
    shop = await w.add_shop()
    shop_id = uuid.UUID(shop["id"])
    modified = utcnow().replace(microsecond=0)
    w.woo.put_order(woo_order(), modified=modified)
    fetched = FetchedOrder("727", modified, "order.updated", _resource(w))
    async with w.svc.runtime.db.transaction() as session:
        await DeliveryRepository(session).store(
            "woocommerce", shop_id, "wc-delivery-1", "order.created", fetched.body
        )
        assert await feed(session, shop_id, "woocommerce", [fetched]) == 1
    order = await w.wait_order(shop["id"], "727", "confirmed")
    await w.all_processed()
    order = await w.get(f"/v1/orders/{order['id']}")
    assert kinds(order).count("received") == 1 and "updated" not in kinds(order)
    assert len(await w.get("/v1/webhook-deliveries")) == 2


async def test_reconciliation_pages_through_every_changed_order(w: World) -> None:
    shop = await w.add_shop()
    now = utcnow()
    for n in range(230):  # three pages of at most 100
        w.woo.put_order(woo_order(id=5000 + n, number=str(5000 + n)), modified=now)
    assert await w.syncer().reconcile(uuid.UUID(shop["id"])) == 230
    listings = [q[1] for q in w.woo.queries if q[0].endswith("/orders")]
    assert [q["page"] for q in listings if "status" not in q] == ["1", "2", "3"]
    assert [(q["page"], q["status"]) for q in listings if "status" in q] == [("1", "trash")]


# --- webhook subscriptions --------------------------------------------------------------


async def test_missing_woo_webhooks_are_created_when_the_shop_is_added(w: World) -> None:
    shop = await w.add_shop()
    assert shop["webhook_health"]["status"] == "repaired"
    hooks = sorted(w.woo.webhooks.values(), key=lambda h: h["topic"])
    assert [h["topic"] for h in hooks] == sorted(TOPICS)
    url = f"{BASE}/webhooks/woocommerce/{shop['id']}"
    assert {(h["delivery_url"], h["status"], h["secret"]) for h in hooks} == {
        (url, "active", WOO_SECRET)  # signed with the shop's secret: we can verify them
    }
    # checked again: nothing to do
    assert (await w.syncer().check_webhooks(uuid.UUID(shop["id"]))).status == "ok"  # type: ignore[union-attr]
    assert len(w.woo.webhooks) == 3


async def test_a_disabled_woo_webhook_is_re_enabled_by_the_daily_check(w: World) -> None:
    shop = await w.add_shop()
    by_topic = {h["topic"]: h["id"] for h in w.woo.webhooks.values()}
    for _ in range(5):  # five failed deliveries in a row: WooCommerce disables it
        w.woo.delivery_failed(by_topic["order.updated"])
    w.woo.webhooks[by_topic["order.created"]]["status"] = "paused"
    assert w.woo.webhooks[by_topic["order.updated"]]["status"] == "disabled"

    # checked when the shop was added: not again before a day has passed
    soon = utcnow() + dt.timedelta(minutes=16)
    assert (await w.syncer(clock=lambda: soon).run_due())["shops"] == 1  # reconciled only
    assert w.woo.webhooks[by_topic["order.updated"]]["status"] == "disabled"
    tomorrow = utcnow() + dt.timedelta(days=1, minutes=1)
    assert (await w.syncer(clock=lambda: tomorrow).run_due())["shops"] == 1
    assert {h["status"] for h in w.woo.webhooks.values()} == {"active"}
    assert len(w.woo.webhooks) == 3  # re-enabled, not created again
    shown = await w.get(f"/v1/shops/{shop['id']}")
    assert shown["webhook_health"]["status"] == "repaired"
    assert shown["webhook_health"]["problems"] == []


async def test_webhooks_that_cannot_be_repaired_flag_the_shop(w: World) -> None:
    w.woo.permissions = "read"  # a read-only key: nothing can be re-enabled or created
    with capture_logs() as logs:
        shop = await w.add_shop()
    [warning] = [e for e in logs if e["event"] == "shop_webhooks_broken"]
    assert warning["log_level"] == "warning" and warning["shop"] == shop["id"]
    health = shop["webhook_health"]
    assert health["status"] == "broken"
    assert len(health["problems"]) == 3
    assert all("write permissions" in p for p in health["problems"])
    assert w.woo.webhooks == {}
    assert (await w.get(f"/v1/shops/{shop['id']}"))["webhook_health"]["status"] == "broken"
    assert REGISTRY.get_sample_value("storefront_webhooks_broken", {"shop_id": shop["id"]}) == 1


async def test_without_our_public_url_missing_webhooks_are_reported_not_guessed(
    start_service,  # type: ignore[no-untyped-def]
) -> None:
    svc = await start_service(SPEC)  # DROPSHIP_WEBHOOK_BASE_URL unset
    woo = FakeWooCommerce(CK, CS)
    svc.runtime.state[TRANSPORT_KEY] = FakeNetwork({WOO_DOMAIN: woo})
    shop = await World(svc, woo).add_shop()
    health = shop["webhook_health"]
    assert health["status"] == "broken"
    assert all("DROPSHIP_WEBHOOK_BASE_URL" in p for p in health["problems"])
    assert woo.webhooks == {} and not [c for c in woo.calls if c[0] != "GET"]


async def test_a_shop_without_credentials_has_webhooks_only(w: World) -> None:
    shop_id = await create_shop(
        w.svc.client, w.h, platform="woocommerce", domain="plain.example.com", secret=WOO_SECRET
    )
    shown = await w.get(f"/v1/shops/{shop_id}")
    assert shown["webhook_health"] is None and shown["reconciliation"] is None
    assert w.woo.calls == []


async def test_subscriptions_kept_elsewhere_are_not_checked(w: World) -> None:
    shop = await w.add_shop(manage_webhooks=False)
    assert shop["webhook_health"]["status"] == "unmanaged"
    assert w.woo.webhooks == {} and w.woo.calls == []
    assert shop["reconciliation"] is not None  # orders are still reconciled


async def test_a_storefront_slow_to_answer_does_not_hold_shop_add(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shop_endpoints, "CHECK_ON_ADD_SECONDS", 0.2)
    w.woo.fail_next("webhooks", "slow:5")
    started = asyncio.get_running_loop().time()
    shop = await w.add_shop()
    assert asyncio.get_running_loop().time() - started < 4
    assert shop["webhook_health"]["status"] == "unchecked"  # the worker checks it later
