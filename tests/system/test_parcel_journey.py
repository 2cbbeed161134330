"""A parcel from the supplier to the buyer's door with the services as separate
processes (``dropship serve order-intake | supplier-gateway | logistics``, distributed
mode, fresh PostgreSQL databases, a RabbitMQ vhost of their own), against fakes of
Shopify, an http-protocol supplier and 17TRACK on real local ports:

signed Shopify order → confirmed → placed at the supplier → shipped with an S10 number
→ ``shipment.tracking_assigned`` → logistics registers it once at 17TRACK → 17TRACK
pushes its scans (in order, duplicated and shuffled) → the order ``delivered``, each
milestone once on the Shopify fulfilment (``fulfillmentEventCreate``) and each buyer
message once (customs, out for delivery, delivered), the "shipped" e-mail linking to
the parcel's tracking page, which a buyer can open."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dropship_testkit.fakes.seventeen_track import FakeSeventeenTrack
from dropship_testkit.infra import create_vhost, delete_vhost
from dropship_testkit.pytest_plugin import ADMIN_TOKEN, TEST_SECRET, free_port
from dropship_testkit.server import serving
from dropship_testkit.tap import eventually

from .harness import SHOPIFY_LINES, FakeHttpSupplierServer, FakeShopify, Pipeline, httpx_post
from .support import DROPSHIP, Proc, service_env

pytestmark = pytest.mark.system

DOMAIN = "journey.myshopify.com"
SERVICES = ("order-intake", "supplier-gateway", "logistics")


@pytest.fixture(scope="module")
async def journey(databases, tmp_path_factory) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    vhost = f"/dstest_journey_{tag}"
    amqp_url = create_vhost(vhost)
    logs = tmp_path_factory.mktemp("journey")
    shopify, tracker = FakeShopify(), FakeSeventeenTrack(rate_per_second=50)
    procs: dict[str, Proc] = {}
    try:
        async with shopify.running(), serving(tracker.app()) as tracker_url:
            urls = {s: await databases.new(s) for s in SERVICES}
            ports = {s: free_port() for s in SERVICES}
            extra = {
                "order-intake": {
                    "DROPSHIP_DATA_DIR": str(logs / "order-intake"),
                    "DROPSHIP_STOREFRONT_ROUTES": f"{DOMAIN}={shopify.url}",
                    "DROPSHIP_TRACKING_PAGE_BASE_URL": f"http://127.0.0.1:{ports['logistics']}",
                },
                "supplier-gateway": {
                    "DROPSHIP_DATA_DIR": str(logs / "supplier-gateway"),
                    "DROPSHIP_PLACEMENT_POLL_SECONDS": "0.2",
                },
                "logistics": {
                    "DROPSHIP_DATA_DIR": str(logs / "logistics"),
                    "DROPSHIP_SEVENTEEN_TRACK_BASE_URL": tracker_url,
                    "DROPSHIP_POLL_INTERVAL_SECONDS": "0.3",
                },
            }
            for s in SERVICES:
                env = service_env(
                    database_url=urls[s],
                    bus_url=amqp_url,
                    exchange=f"test.journey.{tag}",
                    port=ports[s],
                    secret_key=TEST_SECRET,
                    admin_token=ADMIN_TOKEN,
                    DROPSHIP_OUTBOX_POLL_SECONDS="0.2",
                    DROPSHIP_RETRY_DELAYS_MS="[200, 1000]",
                    **extra[s],
                )
                procs[s] = Proc([DROPSHIP, "serve", s], env, logs / f"{s}.log").start()
            for s, p in procs.items():
                await asyncio.to_thread(p.wait_ready, f"http://127.0.0.1:{ports[s]}/readyz")
            pipeline = Pipeline(
                intake=f"http://127.0.0.1:{ports['order-intake']}",
                gateway=f"http://127.0.0.1:{ports['supplier-gateway']}",
                admin_token=ADMIN_TOKEN,
                mail_dir=logs / "order-intake" / "mail",
            )
            try:
                yield {
                    "pipeline": pipeline,
                    "shopify": shopify,
                    "tracker": tracker,
                    "logistics": f"http://127.0.0.1:{ports['logistics']}",
                    "logs": logs,
                }
            finally:
                await pipeline.aclose()
                for p in procs.values():
                    await asyncio.to_thread(p.stop)
    finally:
        for p in procs.values():
            p.kill()
        delete_vhost(vhost)


async def test_a_parcel_from_the_supplier_to_the_buyers_door(journey: dict[str, Any]) -> None:
    p: Pipeline = journey["pipeline"]
    shopify: FakeShopify = journey["shopify"]
    tracker: FakeSeventeenTrack = journey["tracker"]
    logistics: str = journey["logistics"]
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=logistics, headers=admin) as lg:
        r = await lg.post(
            "/v1/tracking-accounts",
            json={"provider": "17track", "label": "main", "api_key": tracker.api_key},
        )
        assert r.status_code == 201, r.text
        push_path = r.json()["push_path"]

        shop = await p.add_shop(DOMAIN)
        async with FakeHttpSupplierServer().running() as supplier:
            sid = await p.add_supplier("Journey supplier", "http", supplier.credentials())
            await p.map(shop, sid, SHOPIFY_LINES.values())
            key = await p.supplier_key(sid)
            supplier.ship_at_once(httpx_post(p.client, p.gateway), key)
            shopify_id = 7_900_001
            shopify.add_order(shopify_id)
            await p.post_order(shop, shopify_id)
            order = await p.order_of(shopify_id)
            await p.order_in(order["id"], "shipped")
            [shipped] = supplier.shipped.values()
        number = shipped.tracking_number

        # logistics registered the number once at 17TRACK
        async def registered() -> bool:
            return tracker.registrations(number) == 1

        await eventually(registered, timeout=30)
        await p.fulfilments_sent(order["id"])

        now = dt.datetime.now(dt.UTC)
        road = [
            ("InTransit", "InTransit_PickedUp", "Picked up in Shenzhen", 50),
            ("InTransit", "InTransit_CustomsProcessing", "Arrived at customs", 20),
            ("OutForDelivery", "OutForDelivery_Other", "Out for delivery", 3),
            ("Delivered", "Delivered_Other", "Delivered to the mailbox", 1),
        ]
        pushes = []
        for status, sub, text, hours in road:
            tracker.scan(number, status, sub, text, at=now - dt.timedelta(hours=hours))
            pushes.append(tracker.push_body(number))
        pushes = pushes + pushes[1:3]
        random.Random(11).shuffle(pushes)
        for body, headers in pushes:
            r = await lg.post(push_path, content=body, headers=headers)
            assert r.status_code == 200, r.text

        await p.order_in(order["id"], "delivered", timeout=45)

        async def delivered_at_shopify() -> list[dict[str, Any]] | None:
            body = await p.fulfilments(order["id"])
            sent = [m for m in body["milestones"] if m["status"] == "sent"]
            return sent if any(m["milestone"] == "delivered" for m in sent) else None

        await eventually(delivered_at_shopify, timeout=45)
        # shuffled pushes: 17TRACK sends the whole history each time, so a later push
        # first is a catch-up to "delivered"; whatever came before it, nothing twice
        statuses = [e["status"] for e in shopify.fake.fulfillment_events()]
        assert statuses.count("DELIVERED") == 1 and statuses.count("OUT_FOR_DELIVERY") <= 1
        assert statuses.count("IN_TRANSIT") <= 2  # in transit, and at customs

        subject = f"order #{shopify_id}"
        [delivered] = await p.wait_mails(f"{subject} was delivered")
        assert number in delivered.get_content()
        for kind in ("is at customs", "is out for delivery", "was delivered"):
            assert len(p.mails(f"{subject} {kind}")) <= 1
        [shipped_mail] = p.mails(f"Your order #{shopify_id} has shipped")
        link = next(
            word for word in shipped_mail.get_content().split() if word.startswith(logistics)
        )
        page = await lg.get(link.removeprefix(logistics))
        assert page.status_code == 200 and number in page.text
        assert "Delivered" in page.text
        assert tracker.registrations(number) == 1
