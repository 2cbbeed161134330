"""A replayed or re-labelled storefront webhook cannot cancel an order (issue 11, §2).

The topic header and the delivery id are not signed: a captured, correctly signed body
can be resent under another topic with a new id. Destructive changes are confirmed with
the storefront's API when the shop has admin credentials (the fake WooCommerce and fake
Shopify Admin API behind FakeNetwork), and otherwise must be the shape of their topic
and not older than the version we hold. On real PostgreSQL + RabbitMQ."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common.db import utcnow
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin, FakeWooCommerce
from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.storefront import (
    SHOPIFY_SKUS,
    shopify_headers,
    shopify_order_body,
    woo_headers,
    woo_order_body,
)
from dropship_testkit.tap import eventually
from order_intake.fulfilment.worker import TRANSPORT_KEY
from order_intake.main import SPEC
from order_intake.models import WebhookDelivery
from order_intake.webhooks.confirmation import Confirmer
from order_intake.webhooks.repository import DeliveryRepository

pytestmark = pytest.mark.integration

WOO_DOMAIN = "woo.example.com"
WOO_SECRET = "woo-secret-123"
CK, CS = "ck_0123456789", "cs_abcdef0123"
SHOP_DOMAIN = "replay-shop.myshopify.com"
SHOP_SECRET = "shpss_replay_secret_1"
TOKEN = "shpat_replay_0123456789"
WOO_ID, SHOPIFY_ID = "727", "450789469"
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class World:
    svc: RunningService
    woo: FakeWooCommerce
    shopify: FakeShopifyAdmin

    @property
    def h(self) -> dict[str, str]:
        return self.svc.admin_headers

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.svc.client.get(path, headers=self.h, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    async def add_shop(self, platform: str, *, credentials: bool) -> str:
        woo = platform == "woocommerce"
        body: dict[str, Any] = {
            "platform": platform,
            "domain": WOO_DOMAIN if woo else SHOP_DOMAIN,
            "webhook_secret": WOO_SECRET if woo else SHOP_SECRET,
        }
        if credentials:
            body["admin_credentials"] = (
                {"consumer_key": CK, "consumer_secret": CS, "manage_webhooks": False}
                if woo
                else {"access_token": TOKEN, "manage_webhooks": False}
            )
        r = await self.svc.client.post("/v1/shops", headers=self.h, json=body)
        assert r.status_code == 201, r.text
        shop_id: str = r.json()["id"]
        skus = ("Foo1", "Bar3") if woo else SHOPIFY_SKUS
        r = await self.svc.client.post(
            "/v1/products",
            headers=self.h,
            json={"shop_id": shop_id, "products": [{"sku": s} for s in skus]},
        )
        assert r.status_code == 201, r.text
        return shop_id

    async def woo_post(
        self, shop_id: str, body: bytes, topic: str, delivery_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = woo_headers(body, WOO_SECRET, topic=topic, delivery_id=delivery_id)
        r = await self.svc.client.post(
            f"/webhooks/woocommerce/{shop_id}", content=body, headers=headers
        )
        return r.status_code, r.json()

    async def shopify_post(
        self, body: bytes, topic: str, webhook_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = shopify_headers(
            body, SHOP_SECRET, topic=topic, domain=SHOP_DOMAIN, webhook_id=webhook_id
        )
        r = await self.svc.client.post("/webhooks/shopify", content=body, headers=headers)
        return r.status_code, r.json()

    async def order(self, shop_id: str, external_id: str) -> dict[str, Any]:
        [found] = [
            o
            for o in (await self.get("/v1/orders", shop_id=shop_id))["items"]
            if o["external_id"] == external_id
        ]
        order: dict[str, Any] = await self.get(f"/v1/orders/{found['id']}")
        return order

    async def settled(self) -> list[dict[str, Any]]:
        """Every delivery processed (none pending or waiting for confirmation)."""

        async def probe() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = await self.get("/v1/webhook-deliveries")
            busy = [d for d in found if d["status"] in ("pending", "confirming")]
            return None if busy else found

        return await eventually(probe)

    async def wait_status(self, shop_id: str, external_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            for o in (await self.get("/v1/orders", shop_id=shop_id))["items"]:
                if o["external_id"] == external_id and o["status"] == status:
                    return await self.order(shop_id, external_id)
            return None

        return await eventually(probe)


@pytest.fixture
async def w(start_service) -> World:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    woo = FakeWooCommerce(CK, CS)
    shopify = FakeShopifyAdmin(TOKEN)
    svc.runtime.state[TRANSPORT_KEY] = FakeNetwork({WOO_DOMAIN: woo, SHOP_DOMAIN: shopify})
    return World(svc, woo, shopify)


def woo_order(modified: dt.datetime, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(woo_order_body())
    order["line_items"][0]["sku"] = "Foo1"  # every line known: the order is confirmed
    stamp = modified.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    order.update(date_modified_gmt=stamp, date_modified=stamp, **changes)
    return order


def shopify_order(updated: dt.datetime, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(shopify_order_body())
    order.update(updated_at=updated.isoformat(), financial_status="paid", **changes)
    return order


def dumps(order: dict[str, Any]) -> bytes:
    return json.dumps(order).encode()


def kinds(order: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in order["timeline"]]


async def _woo_confirmed(w: World, shop_id: str, modified: dt.datetime = T0) -> bytes:
    """The order.created body the storefront signed, and the order it made."""
    captured = dumps(woo_order(modified))
    assert (await w.woo_post(shop_id, captured, "order.created"))[1]["status"] == "accepted"
    await w.wait_status(shop_id, WOO_ID, "confirmed")
    return captured


async def _shopify_confirmed(w: World, shop_id: str, updated: dt.datetime = T0) -> bytes:
    captured = dumps(shopify_order(updated))
    assert (await w.shopify_post(captured, "orders/create"))[1]["status"] == "accepted"
    await w.wait_status(shop_id, SHOPIFY_ID, "confirmed")
    return captured


# --- the review's attack: a signed order.created resent as order.deleted ----------------


@pytest.mark.parametrize("credentials", [False, True], ids=["no-credentials", "credentials"])
async def test_a_created_body_resent_as_order_deleted_does_not_cancel(
    w: World, credentials: bool
) -> None:
    shop_id = await w.add_shop("woocommerce", credentials=credentials)
    w.woo.put_order(woo_order(T0), modified=T0)  # the storefront has it, live
    captured = await _woo_confirmed(w, shop_id)

    status, answer = await w.woo_post(shop_id, captured, "order.deleted", uuid.uuid4().hex)

    # answered 200 (genuinely signed: a storefront must not retry it), nothing stored
    assert (status, answer["status"]) == (200, "ignored")
    deliveries = await w.settled()
    assert [d["topic"] for d in deliveries] == ["order.created"]
    order = await w.order(shop_id, WOO_ID)
    assert order["status"] == "confirmed"


@pytest.mark.parametrize("credentials", [False, True], ids=["no-credentials", "credentials"])
async def test_an_uncancelled_shopify_body_resent_as_orders_cancelled_does_not_cancel(
    w: World, credentials: bool
) -> None:
    shop_id = await w.add_shop("shopify", credentials=credentials)
    w.shopify.shop.put_order(shopify_order(T0), updated=T0)
    captured = await _shopify_confirmed(w, shop_id)

    status, answer = await w.shopify_post(captured, "orders/cancelled", str(uuid.uuid4()))

    assert (status, answer["status"]) == (200, "ignored")
    assert [d["topic"] for d in await w.settled()] == ["orders/create"]
    assert (await w.order(shop_id, SHOPIFY_ID))["status"] == "confirmed"


@pytest.mark.parametrize("credentials", [False, True], ids=["no-credentials", "credentials"])
async def test_an_older_cancelled_version_replayed_moves_nothing(
    w: World, credentials: bool
) -> None:
    """Cancelled at the storefront at T0, then re-opened at T0 + 1 h (what we hold):
    the signed cancelled version resent later, under any topic, is older."""
    shop_id = await w.add_shop("woocommerce", credentials=credentials)
    reopened = T0 + dt.timedelta(hours=1)
    w.woo.put_order(woo_order(reopened), modified=reopened)
    await _woo_confirmed(w, shop_id, reopened)
    old_cancelled = dumps(woo_order(T0, status="cancelled"))

    for topic in ("order.updated", "order.created", "order.restored"):
        status, answer = await w.woo_post(shop_id, old_cancelled, topic)
        assert (status, answer["status"]) == (200, "accepted")
    await w.settled()

    order = await w.order(shop_id, WOO_ID)
    assert order["status"] == "confirmed"
    assert kinds(order).count("stale_version_ignored") == 3
    assert "storefront_confirmation_pending" not in kinds(order)  # nothing to ask


@pytest.mark.parametrize("credentials", [False, True], ids=["no-credentials", "credentials"])
async def test_an_older_shopify_cancelled_version_replayed_moves_nothing(
    w: World, credentials: bool
) -> None:
    shop_id = await w.add_shop("shopify", credentials=credentials)
    held = T0 + dt.timedelta(hours=1)
    w.shopify.shop.put_order(shopify_order(held), updated=held)
    await _shopify_confirmed(w, shop_id, held)
    old_cancelled = dumps(shopify_order(T0, cancelled_at=T0.isoformat()))

    for topic in ("orders/cancelled", "orders/updated", "orders/paid"):
        status, answer = await w.shopify_post(old_cancelled, topic)
        assert (status, answer["status"]) == (200, "accepted")
    await w.settled()

    order = await w.order(shop_id, SHOPIFY_ID)
    assert order["status"] == "confirmed"
    assert kinds(order).count("stale_version_ignored") == 3


# --- without credentials: a genuine deletion / cancellation still cancels ---------------


async def test_without_credentials_a_genuine_deletion_cancels(w: World) -> None:
    shop_id = await w.add_shop("woocommerce", credentials=False)
    await _woo_confirmed(w, shop_id)
    deleted = dumps({"id": int(WOO_ID)})
    assert (await w.woo_post(shop_id, deleted, "order.deleted"))[1]["status"] == "accepted"
    order = await w.wait_status(shop_id, WOO_ID, "cancelled")
    assert order["timeline"][-1]["reason"] == "deleted at the storefront"
    assert w.woo.calls == []  # no credentials: the storefront is not asked


async def test_without_credentials_a_genuine_shopify_cancellation_cancels(w: World) -> None:
    shop_id = await w.add_shop("shopify", credentials=False)
    await _shopify_confirmed(w, shop_id)
    later = T0 + dt.timedelta(minutes=5)
    cancelled = dumps(shopify_order(later, cancelled_at=later.isoformat(), cancel_reason="fraud"))
    assert (await w.shopify_post(cancelled, "orders/cancelled"))[1]["status"] == "accepted"
    await w.wait_status(shop_id, SHOPIFY_ID, "cancelled")


# --- with credentials: confirmed with the storefront's API ------------------------------


async def test_with_credentials_a_cancellation_the_storefront_denies_is_refused(
    w: World,
) -> None:
    """A signed cancelled version, newer than ours, that the storefront does not hold
    (re-opened since, or never its state): nothing moves; recorded."""
    shop_id = await w.add_shop("woocommerce", credentials=True)
    w.woo.put_order(woo_order(T0), modified=T0 + dt.timedelta(hours=2))  # live
    await _woo_confirmed(w, shop_id)
    cancelled = dumps(woo_order(T0 + dt.timedelta(hours=1), status="cancelled"))

    assert (await w.woo_post(shop_id, cancelled, "order.updated"))[1]["status"] == "accepted"
    [delivery] = [d for d in await w.settled() if d["topic"] == "order.updated"]

    assert delivery["status"] == "processed"
    order = await w.order(shop_id, WOO_ID)
    assert order["status"] == "confirmed"
    refused = [e for e in order["timeline"] if e["kind"] == "destructive_webhook_refused"]
    assert len(refused) == 1 and refused[0]["actor"] == "webhook:woocommerce"
    assert ("GET", "/wp-json/wc/v3/orders/727") in w.woo.calls


async def test_with_credentials_a_deletion_confirmed_by_the_storefront_cancels(
    w: World,
) -> None:
    shop_id = await w.add_shop("woocommerce", credentials=True)
    w.woo.put_order(woo_order(T0), modified=T0)
    await _woo_confirmed(w, shop_id)
    del w.woo.orders[int(WOO_ID)]  # deleted for good: WooCommerce's 404 invalid_id

    deleted = dumps({"id": int(WOO_ID)})
    assert (await w.woo_post(shop_id, deleted, "order.deleted"))[1]["status"] == "accepted"
    order = await w.wait_status(shop_id, WOO_ID, "cancelled")
    assert "storefront_confirmation_pending" in kinds(order)
    assert order["timeline"][-1]["reason"] == "deleted at the storefront"


async def test_with_credentials_a_trashed_order_is_cancelled_with_the_storefront_version(
    w: World,
) -> None:
    shop_id = await w.add_shop("woocommerce", credentials=True)
    await _woo_confirmed(w, shop_id)
    trashed_at = T0 + dt.timedelta(minutes=3)
    w.woo.put_order(woo_order(T0, status="trash"), modified=trashed_at)

    deleted = dumps({"id": int(WOO_ID)})
    assert (await w.woo_post(shop_id, deleted, "order.deleted"))[1]["status"] == "accepted"
    order = await w.wait_status(shop_id, WOO_ID, "cancelled")
    assert dt.datetime.fromisoformat(order["source_updated_at"]) == trashed_at


async def test_with_credentials_a_deletion_the_storefront_denies_is_refused(w: World) -> None:
    """A genuine order.deleted replayed after the order was restored at the storefront."""
    shop_id = await w.add_shop("woocommerce", credentials=True)
    w.woo.put_order(woo_order(T0), modified=T0)
    await _woo_confirmed(w, shop_id)

    deleted = dumps({"id": int(WOO_ID)})
    assert (await w.woo_post(shop_id, deleted, "order.deleted"))[1]["status"] == "accepted"
    await w.settled()
    order = await w.order(shop_id, WOO_ID)
    assert order["status"] == "confirmed"
    assert "destructive_webhook_refused" in kinds(order)


async def test_with_credentials_a_shopify_cancellation_is_confirmed_or_refused(
    w: World,
) -> None:
    shop_id = await w.add_shop("shopify", credentials=True)
    # live at Shopify, at a version newer than the cancelled body below
    w.shopify.shop.put_order(shopify_order(T0), updated=T0 + dt.timedelta(minutes=10))
    await _shopify_confirmed(w, shop_id)
    later = T0 + dt.timedelta(minutes=5)
    cancelled = dumps(shopify_order(later, cancelled_at=later.isoformat(), cancel_reason="fraud"))

    # Shopify says the order is live: refused
    assert (await w.shopify_post(cancelled, "orders/cancelled"))[1]["status"] == "accepted"
    await w.settled()
    order = await w.order(shop_id, SHOPIFY_ID)
    assert order["status"] == "confirmed"
    assert "destructive_webhook_refused" in kinds(order)
    assert w.shopify.operations("order")

    # Shopify says it is cancelled: applied, with Shopify's version
    w.shopify.shop.put_order(json.loads(cancelled), updated=T0 + dt.timedelta(minutes=20))
    assert (await w.shopify_post(cancelled, "orders/cancelled"))[1]["status"] == "accepted"
    await w.wait_status(shop_id, SHOPIFY_ID, "cancelled")


async def test_with_credentials_an_unreachable_storefront_means_asking_again_later(
    w: World,
) -> None:
    shop_id = await w.add_shop("woocommerce", credentials=True)
    w.woo.put_order(woo_order(T0), modified=T0)
    await _woo_confirmed(w, shop_id)
    del w.woo.orders[int(WOO_ID)]
    w.woo.fail_next("order_read", *["http_500"] * 10)

    deleted = dumps({"id": int(WOO_ID)})
    assert (await w.woo_post(shop_id, deleted, "order.deleted"))[1]["status"] == "accepted"

    async def asked_once() -> dict[str, Any] | None:
        found = [d for d in await w.get("/v1/webhook-deliveries") if d["topic"] == "order.deleted"]
        return found[0] if found and found[0]["attempts"] >= 1 else None

    delivery = await eventually(asked_once)
    assert delivery["status"] == "confirming" and "500" in delivery["last_error"]
    assert (await w.order(shop_id, WOO_ID))["status"] == "confirmed"  # never unconfirmed

    # the storefront is back and the retry is due
    w.woo.faults["order_read"].clear()
    async with w.svc.runtime.db.transaction() as session:
        await session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == uuid.UUID(delivery["id"]))
            .values(next_attempt_at=utcnow())
        )
    await Confirmer(w.svc.runtime).confirm_batch()
    await w.wait_status(shop_id, WOO_ID, "cancelled")


# --- unsigned headers -------------------------------------------------------------------


async def test_a_webhook_id_passing_for_a_reconciled_version_is_refused(w: World) -> None:
    """Reconciled versions (read from the storefront's API) are not confirmed again: an
    unsigned delivery id must not pass for one."""
    shop_id = await w.add_shop("woocommerce", credentials=True)
    await _woo_confirmed(w, shop_id)
    cancelled = dumps(woo_order(T0 + dt.timedelta(hours=1), status="cancelled"))
    status, answer = await w.woo_post(
        shop_id, cancelled, "order.updated", delivery_id="reconcile:727@2026-11-01T13:00:00"
    )
    assert status == 400 and answer["error"]["code"] == "bad_request"
    assert [d["topic"] for d in await w.settled()] == ["order.created"]
    assert (await w.order(shop_id, WOO_ID))["status"] == "confirmed"


async def test_with_credentials_an_api_behind_the_webhook_is_asked_again(w: World) -> None:
    """The storefront's API still shows an older version than the signed webhook's: not
    a refusal (a replay is never newer than the storefront), a question for later."""
    shop_id = await w.add_shop("woocommerce", credentials=True)
    w.woo.put_order(woo_order(T0), modified=T0)
    await _woo_confirmed(w, shop_id)
    later = T0 + dt.timedelta(minutes=1)
    cancelled = woo_order(later, status="cancelled")

    assert (await w.woo_post(shop_id, dumps(cancelled), "order.updated"))[1]["status"] == (
        "accepted"
    )

    async def asked_once() -> dict[str, Any] | None:
        found = [d for d in await w.get("/v1/webhook-deliveries") if d["topic"] == "order.updated"]
        return found[0] if found and found[0]["attempts"] >= 1 else None

    delivery = await eventually(asked_once)
    assert delivery["status"] == "confirming" and "does not show" in delivery["last_error"]
    order = await w.order(shop_id, WOO_ID)
    assert order["status"] == "confirmed"
    assert "destructive_webhook_refused" not in kinds(order)

    w.woo.put_order(cancelled, modified=later)  # the API caught up
    async with w.svc.runtime.db.transaction() as session:
        await session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == uuid.UUID(delivery["id"]))
            .values(next_attempt_at=utcnow())
        )
    await Confirmer(w.svc.runtime).confirm_batch()
    await w.wait_status(shop_id, WOO_ID, "cancelled")


async def test_an_order_redacted_while_its_cancellation_waits_is_left_alone(w: World) -> None:
    """``customers/redact`` drops the bodies of the order's deliveries: the waiting one
    has nothing left to confirm and is closed, without holding back the others."""
    shop_id = await w.add_shop("shopify", credentials=True)
    w.shopify.shop.put_order(shopify_order(T0), updated=T0)
    await _shopify_confirmed(w, shop_id)
    w.shopify.fail_next("query", *["http_500"] * 10)
    later = T0 + dt.timedelta(minutes=5)
    cancelled = dumps(shopify_order(later, cancelled_at=later.isoformat()))
    assert (await w.shopify_post(cancelled, "orders/cancelled"))[1]["status"] == "accepted"

    async def asked_once() -> dict[str, Any] | None:
        found = [
            d for d in await w.get("/v1/webhook-deliveries") if d["topic"] == "orders/cancelled"
        ]
        return found[0] if found and found[0]["attempts"] >= 1 else None

    delivery = await eventually(asked_once)
    redact = {
        "shop_domain": SHOP_DOMAIN,
        "customer": {"id": 207119551},
        "orders_to_redact": [int(SHOPIFY_ID)],
    }
    assert (await w.shopify_post(dumps(redact), "customers/redact"))[1]["status"] == "accepted"

    async def redacted() -> bool:
        return (await w.order(shop_id, SHOPIFY_ID))["buyer"] == {"redacted": True}

    await eventually(redacted)
    w.shopify.faults["query"].clear()
    async with w.svc.runtime.db.transaction() as session:
        await session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == uuid.UUID(delivery["id"]))
            .values(next_attempt_at=utcnow())
        )
    await Confirmer(w.svc.runtime).confirm_batch()
    [done] = [d for d in await w.settled() if d["id"] == delivery["id"]]
    assert done["status"] == "processed"
    assert (await w.order(shop_id, SHOPIFY_ID))["status"] == "confirmed"


async def test_a_deletion_of_the_wrong_shape_stored_earlier_is_refused_by_the_processor(
    w: World,
) -> None:
    """A delivery stored before the door checked shapes (an upgrade with a backlog)."""
    shop_id = await w.add_shop("woocommerce", credentials=False)
    captured = await _woo_confirmed(w, shop_id)
    async with w.svc.runtime.db.transaction() as session:
        stored = await DeliveryRepository(session).store(
            "woocommerce", uuid.UUID(shop_id), "before-upgrade-1", "order.deleted", captured
        )
    assert stored
    w.svc.runtime.state["webhook_signal"].set()
    await w.settled()
    order = await w.order(shop_id, WOO_ID)
    assert order["status"] == "confirmed"
    [refusal] = [e for e in order["timeline"] if e["kind"] == "destructive_webhook_refused"]
    assert refusal["reason"] == "an order.deleted body carries only the order's id"
