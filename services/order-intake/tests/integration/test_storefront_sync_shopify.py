"""Reconciliation and subscription repair with Shopify, on real PostgreSQL + RabbitMQ,
against the fake Shopify Admin GraphQL API (in-process, behind FakeNetwork)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from dropship_common.db import utcnow
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin
from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.storefront import SHOPIFY_SKUS, shopify_headers, shopify_order_body
from dropship_testkit.tap import eventually
from order_intake.fulfilment.worker import TRANSPORT_KEY
from order_intake.main import SPEC
from order_intake.storefront_sync.job import ShopSyncer

pytestmark = pytest.mark.integration

DOMAIN = "recon-shop.myshopify.com"
SECRET = "shpss_recon_secret_1"
TOKEN = "shpat_recon_0123456789"
BASE = "https://hooks.dropship.example"
TOPICS = (
    "ORDERS_CREATE",
    "ORDERS_PAID",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "RETURNS_REQUEST",
    "REFUNDS_CREATE",
)


@dataclass
class World:
    svc: RunningService
    shopify: FakeShopifyAdmin

    @property
    def h(self) -> dict[str, str]:
        return self.svc.admin_headers

    def syncer(self) -> ShopSyncer:
        return ShopSyncer(self.svc.runtime.db, self.svc.settings, self.svc.runtime.state)

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.svc.client.get(path, headers=self.h, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    async def add_shop(self) -> dict[str, Any]:
        r = await self.svc.client.post(
            "/v1/shops",
            headers=self.h,
            json={
                "platform": "shopify",
                "domain": DOMAIN,
                "webhook_secret": SECRET,
                "admin_credentials": {"access_token": TOKEN},
            },
        )
        assert r.status_code == 201, r.text
        shop: dict[str, Any] = r.json()
        r = await self.svc.client.post(
            "/v1/products",
            headers=self.h,
            json={"shop_id": shop["id"], "products": [{"sku": s} for s in SHOPIFY_SKUS]},
        )
        assert r.status_code == 201, r.text
        return shop

    async def wait_order(self, shop_id: str, external_id: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            for o in (await self.get("/v1/orders", shop_id=shop_id))["items"]:
                if o["external_id"] == external_id and o["status"] != "new":
                    found: dict[str, Any] = await self.get(f"/v1/orders/{o['id']}")
                    return found
            return None

        return await eventually(probe)

    async def all_processed(self) -> None:
        async def probe() -> bool:
            return not [
                d for d in await self.get("/v1/webhook-deliveries") if d["status"] == "pending"
            ]

        await eventually(probe)


def kinds(order: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in order["timeline"]]


def rest_order(updated: dt.datetime) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(shopify_order_body())
    order["updated_at"] = updated.isoformat()
    return order


@pytest.fixture
async def w(start_service) -> World:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, webhook_base_url=BASE)
    shopify = FakeShopifyAdmin(TOKEN)
    svc.runtime.state[TRANSPORT_KEY] = FakeNetwork({DOMAIN: shopify})
    return World(svc, shopify)


async def test_a_missing_shopify_subscription_is_re_created(w: World) -> None:
    url = f"{BASE}/webhooks/shopify"
    for topic in TOPICS:
        if topic != "ORDERS_PAID":  # removed by Shopify
            w.shopify.shop.add_subscription(topic, url)
    shop = await w.add_shop()
    assert shop["webhook_health"]["status"] == "repaired"
    subscriptions = list(w.shopify.shop.subscriptions.values())
    assert sorted(s["topic"] for s in subscriptions) == sorted(TOPICS)
    assert {(s["uri"], s["format"]) for s in subscriptions} == {(url, "JSON")}
    [created] = w.shopify.operations("webhookSubscriptionCreate")
    assert created["variables"]["topic"] == "ORDERS_PAID"
    # checked again: all there
    health = await w.syncer().check_webhooks(uuid.UUID(shop["id"]))
    assert health is not None and health.status == "ok"


async def test_a_subscription_shopify_refuses_flags_the_shop(w: World) -> None:
    w.shopify.shop.add_subscription("ORDERS_CREATE", f"{BASE}/webhooks/shopify", fmt="XML")
    shop = await w.add_shop()
    health = shop["webhook_health"]
    assert health["status"] == "broken"
    assert health["problems"] == ["orders/create: subscribed in XML, not JSON"]
    assert len(w.shopify.shop.subscriptions) == len(TOPICS)  # the others were created


async def test_without_our_public_url_missing_subscriptions_flag_the_shop(
    start_service,  # type: ignore[no-untyped-def]
) -> None:
    svc = await start_service(SPEC)  # DROPSHIP_WEBHOOK_BASE_URL unset
    shopify = FakeShopifyAdmin(TOKEN)
    svc.runtime.state[TRANSPORT_KEY] = FakeNetwork({DOMAIN: shopify})
    shop = await World(svc, shopify).add_shop()
    assert shop["webhook_health"]["status"] == "broken"
    assert len(shop["webhook_health"]["problems"]) == len(TOPICS)
    assert shopify.shop.subscriptions == {}
    assert shopify.operations("webhookSubscriptionCreate") == []


async def test_a_missed_shopify_order_arrives_through_reconciliation_exactly_once(
    w: World,
) -> None:
    shop = await w.add_shop()
    w.shopify.shop.put_order(rest_order(utcnow()), utcnow())  # its webhooks were all lost

    syncer = w.syncer()
    assert await syncer.reconcile(uuid.UUID(shop["id"])) == 1
    order = await w.wait_order(shop["id"], "450789469")
    assert await syncer.reconcile(uuid.UUID(shop["id"])) == 0
    await w.all_processed()
    order = await w.get(f"/v1/orders/{order['id']}")
    assert kinds(order).count("received") == 1 and "updated" not in kinds(order)
    received = next(e for e in order["timeline"] if e["kind"] == "received")
    assert received["actor"] == "reconcile:shopify"
    assert [line["sku"] for line in order["lines"]] == list(SHOPIFY_SKUS)
    [listing, *_] = w.shopify.operations("orders")
    assert listing["variables"]["query"].startswith("updated_at:>='")
    assert listing["variables"]["first"] <= 250
    assert len(w.shopify.operations("order")) == 1  # the second run: listed only


async def test_a_delivered_shopify_order_is_not_duplicated(w: World) -> None:
    shop = await w.add_shop()
    updated = utcnow().replace(microsecond=0)
    rest = rest_order(updated)
    w.shopify.shop.put_order(rest, updated)
    body = json.dumps(rest).encode()
    r = await w.svc.client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, SECRET, domain=DOMAIN)
    )
    assert r.status_code == 200, r.text
    order = await w.wait_order(shop["id"], "450789469")

    assert await w.syncer().reconcile(uuid.UUID(shop["id"])) == 0
    assert w.shopify.operations("order") == []  # the version was known: not read
    assert [d["topic"] for d in await w.get("/v1/webhook-deliveries")] == ["orders/create"]
    order = await w.get(f"/v1/orders/{order['id']}")
    assert kinds(order).count("received") == 1 and "updated" not in kinds(order)
