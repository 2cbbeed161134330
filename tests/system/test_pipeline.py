"""The whole loop with the services as separate processes (``dropship serve
order-intake`` and ``dropship serve supplier-gateway``, distributed mode, fresh
PostgreSQL databases, a RabbitMQ node of their own), driven over HTTP as
a Shopify store, a supplier and an operator would, against fakes of Shopify, CJ and an
http-protocol supplier on real local ports:

signed Shopify webhook → order confirmed → supplier order placed at the supplier →
tracking from the supplier (CJ LOGISTIC message, the portal's forms, our http
protocol) → fulfilment with that number at Shopify → the buyer's "shipped" e-mail.

Then the unhappy paths: a split order, a rejection re-placed with the backup supplier,
and faults that each end with every order placed exactly once at the supplier: 500s,
a timeout after the supplier committed, 429 with Retry-After, RabbitMQ restarted
mid-flow, supplier-gateway SIGKILLed mid-message and restarted.

The processes and the fakes start once for the module; each test has its own shop (and
suppliers), so the tests do not see each other's orders."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dropship_common.contracts.aftersales import AftersalesReshipRequested, CaseLineV1
from dropship_common.messaging.rabbitmq import RabbitMQBus
from dropship_testkit.private_infra import PrivateRabbit
from dropship_testkit.pytest_plugin import ADMIN_TOKEN, TEST_SECRET, free_port
from dropship_testkit.tap import eventually

from .harness import (
    SHOPIFY_LINES,
    FakeCJSupplier,
    FakeHttpSupplierServer,
    FakeShopify,
    Pipeline,
    Shop,
    httpx_post,
    s10,
)
from .support import DROPSHIP, Proc, service_env

pytestmark = pytest.mark.system

SHOPS = (
    "cj",
    "portal",
    "http",
    "split",
    "backup",
    "e500",
    "timeout",
    "e429",
    "rabbit",
    "kill",
    "reship",
)
SUPPLIER_TIMEOUT_S = 1.5
_serials = itertools.count(int(time.time()) % 10**6 * 100)


def domain(name: str) -> str:
    return f"pipeline-{name}.myshopify.com"


def tracking_number() -> str:
    return s10(next(_serials))


@dataclass
class World:
    pipeline: Pipeline
    shopify: FakeShopify
    cj: FakeCJSupplier
    procs: dict[str, Proc]
    ready: dict[str, str]  # service -> readyz URL
    logs: Path
    bus_url: str
    exchange: str
    mq: PrivateRabbit  # the module's own node, stopped by a test

    async def publish(self, event: Any) -> None:
        """Publish an event as its service would (aftersales is not started here)."""
        bus = RabbitMQBus(
            self.bus_url, self.exchange, retry_delays_ms=[50], delivery_limit=5, prefetch=1
        )
        await bus.connect()
        try:
            await bus.publish([event.envelope(correlation_id=str(event.order_id))])
        finally:
            await bus.close()

    async def restart(self, service: str) -> None:
        """SIGKILL (no shutdown code runs) and start it again."""
        self.procs[service] = self.procs[service].restart()
        await asyncio.to_thread(self.procs[service].wait_ready, self.ready[service])

    async def shop(self, name: str) -> Shop:
        return await self.pipeline.add_shop(domain(name))

    async def cj_supplier(self, shop: Shop, skus: Any = SHOPIFY_LINES.values()) -> str:
        sid = await self.pipeline.add_supplier(
            f"CJ {uuid.uuid4().hex[:6]}", "cjdropshipping", self.cj.credentials()
        )
        await self.pipeline.map(shop, sid, skus)
        return sid

    async def http_supplier(
        self, shop: Shop, fake: FakeHttpSupplierServer, skus: Any = SHOPIFY_LINES.values()
    ) -> tuple[str, str]:
        sid = await self.pipeline.add_supplier(
            f"Integrated {uuid.uuid4().hex[:6]}", "http", fake.credentials()
        )
        await self.pipeline.map(shop, sid, skus)
        return sid, await self.pipeline.supplier_key(sid)

    async def confirmed_order(self, shop: Shop, shopify_id: int) -> dict[str, Any]:
        """Post the signed webhook (the fake Shopify knows the order); the order."""
        self.shopify.add_order(shopify_id)
        await self.pipeline.post_order(shop, shopify_id)
        return await self.pipeline.order_of(shopify_id)


@pytest.fixture(scope="module")
async def world(databases, tmp_path_factory, private_mq: PrivateRabbit) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    mq = private_mq  # this module's own node: a test stops it
    tag = uuid.uuid4().hex[:8]
    amqp_url = mq.url
    logs = tmp_path_factory.mktemp("pipeline")
    shopify, cj = FakeShopify(), FakeCJSupplier()
    procs: dict[str, Proc] = {}
    try:
        async with shopify.running(), cj.running():
            urls = {s: await databases.new(s) for s in ("order-intake", "supplier-gateway")}
            ports = {s: free_port() for s in urls}
            common = {
                "DROPSHIP_OUTBOX_POLL_SECONDS": "0.2",
                "DROPSHIP_RETRY_DELAYS_MS": "[200, 1000]",
                "DROPSHIP_LOG_LEVEL": "INFO",
            }
            extra = {
                "order-intake": {
                    "DROPSHIP_DATA_DIR": str(logs / "order-intake"),
                    "DROPSHIP_STOREFRONT_ROUTES": ",".join(
                        f"{domain(n)}={shopify.url}" for n in SHOPS
                    ),
                },
                "supplier-gateway": {
                    "DROPSHIP_DATA_DIR": str(logs / "supplier-gateway"),
                    "DROPSHIP_CJ_BASE_URL": cj.url,
                    "DROPSHIP_PLACEMENT_POLL_SECONDS": "0.2",
                    "DROPSHIP_PLACEMENT_RETRY_BASE_SECONDS": "0.2",
                    "DROPSHIP_PLACEMENT_RETRY_CAP_SECONDS": "2",
                    "DROPSHIP_PLACEMENT_LEASE_SECONDS": "5",
                    "DROPSHIP_SUPPLIER_TIMEOUT_SECONDS": str(SUPPLIER_TIMEOUT_S),
                    "DROPSHIP_SUPPLIER_BREAKER_COOLDOWN_SECONDS": "1",
                },
            }
            for s in urls:
                env = service_env(
                    database_url=urls[s],
                    bus_url=amqp_url,
                    exchange=f"test.pipeline.{tag}",
                    port=ports[s],
                    secret_key=TEST_SECRET,
                    admin_token=ADMIN_TOKEN,
                    **common,
                    **extra[s],
                )
                procs[s] = Proc([DROPSHIP, "serve", s], env, logs / f"{s}.log").start()
            ready = {s: f"http://127.0.0.1:{ports[s]}/readyz" for s in urls}
            for s, p in procs.items():
                await asyncio.to_thread(p.wait_ready, ready[s])
            pipeline = Pipeline(
                intake=f"http://127.0.0.1:{ports['order-intake']}",
                gateway=f"http://127.0.0.1:{ports['supplier-gateway']}",
                admin_token=ADMIN_TOKEN,
                mail_dir=logs / "order-intake" / "mail",
            )
            try:
                yield World(
                    pipeline,
                    shopify,
                    cj,
                    procs,
                    ready,
                    logs,
                    amqp_url,
                    f"test.pipeline.{tag}",
                    mq,
                )
            finally:
                await pipeline.aclose()
                for p in procs.values():
                    await asyncio.to_thread(p.stop)
    finally:
        for p in procs.values():
            p.kill()


def shipped_mail_of(world: World, shopify_id: int) -> list[Any]:
    return world.pipeline.mails(f"Your order #{shopify_id} has shipped")


def consumed(metrics: str, kind: str) -> float:
    """Messages of ``kind`` a service handled (ok or duplicate), from its /metrics."""
    total = 0.0
    outcomes = ('outcome="ok"', 'outcome="duplicate"')
    for line in metrics.splitlines():
        ours = line.startswith("messages_consumed_total{") and f'type="{kind}"' in line
        if ours and any(o in line for o in outcomes):
            total += float(line.rsplit(" ", 1)[1])
    return total


def status_moves(order: dict[str, Any]) -> list[str]:
    return [e["to_status"] for e in order["timeline"] if e["kind"] == "status_changed"]


def attempts(supplier_order: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["details"] for e in supplier_order["timeline"] if e["kind"] == "placement_attempt"]


# -- the happy paths, one per kind of supplier ----------------------------------------


async def test_cj_order_tracking_back_to_shopify_and_the_buyer(world: World) -> None:
    p, cj = world.pipeline, world.cj
    shop = await world.shop("cj")
    sid = await world.cj_supplier(shop)
    shopify_id = 7_100_001
    order = await world.confirmed_order(shop, shopify_id)

    [so] = await p.supplier_orders(order["id"])
    await p.supplier_order_in(so["id"], "placed")
    # CJ got createOrderV2 once, with our supplier-order id as orderNumber
    [create] = cj.creates(so["id"])
    assert create.status == 200
    sent = create.json()
    assert sent["orderNumber"] == so["id"]
    assert (sent["shippingCountryCode"], sent["shippingCity"], sent["shippingZip"]) == (
        "US",
        "Louisville",
        "40202",
    )
    assert sent["shippingCountry"] == "United States"  # the name; the code beside it
    assert sent["shippingCustomerName"] == "Bob Norman"
    assert sent["logisticName"] == "CJPacket Ordinary"
    assert sorted(line["vid"] for line in sent["products"]) == sorted(
        str(uuid.uuid5(uuid.NAMESPACE_OID, sku)).upper() for sku in SHOPIFY_LINES.values()
    )
    assert cj.fake.orders[so["id"]].status == "CREATED"

    async def handed_off() -> bool:  # order-intake consumed supplier.order_placed
        return "handed_off" in [e["kind"] for e in (await p.order(order["id"]))["timeline"]]

    await eventually(handed_off)

    # CJ ships and pushes a signed LOGISTIC message naming its own order id: stored and
    # answered as CJ requires, applied after the commit
    number = tracking_number()
    r = await cj.send_logistics(p.client, p.gateway, sid, so["id"], number.lower())
    assert r.status_code == 200 and r.json() == {
        "code": 200,
        "result": "success",
        "message": "received",
    }, r.text

    shipped = await p.order_in(order["id"], "shipped")
    assert status_moves(shipped) == ["confirmed", "shipped"]
    body = await p.fulfilments_sent(order["id"])
    [parcel] = body["parcels"]
    assert parcel["tracking_number"] == number and parcel["carrier"] == "CJPacket Ordinary"

    # the fulfilment at Shopify: the order's fulfillment order, with company/number/url
    [fulfilment] = world.shopify.fulfillments(shopify_id)
    assert fulfilment["trackingInfo"] == [
        {"company": "CJPacket Ordinary", "number": number, "url": parcel["tracking_url"]}
    ]
    assert number in parcel["tracking_url"]
    assert sorted(i["lineItemId"] for i in fulfilment["lineItems"]) == [
        f"gid://shopify/LineItem/{i}" for i in sorted(SHOPIFY_LINES)
    ]
    [row] = body["fulfilments"]
    assert row["external_ref"] == fulfilment["id"]

    # the buyer is told, with carrier, number and link
    [mail] = await p.wait_mails(f"Your order #{shopify_id} has shipped")
    assert mail["To"] == "bob.norman@hostmail.com"
    text = mail.get_content()
    assert number in text and "CJPacket Ordinary" in text and parcel["tracking_url"] in text
    # the same tracking in a new message: nothing new anywhere
    again = await cj.send_logistics(p.client, p.gateway, sid, so["id"], number)
    assert again.status_code == 200 and again.json()["message"] == "received"
    message_id = json.loads(again.request.content)["messageId"]

    async def applied() -> bool:
        r = await p.client.get(f"{p.gateway}/v1/callbacks/cjdropshipping/messages", headers=p.admin)
        return any(
            m["message_id"] == message_id and m["status"] == "processed"
            for m in r.json()["messages"]
        )

    await eventually(applied)
    d = await p.supplier_order(so["id"])
    assert d["status"] == "shipped" and len(cj.creates(so["id"])) == 1
    assert len(world.shopify.fulfillments(shopify_id)) == 1
    assert len(shipped_mail_of(world, shopify_id)) == 1


async def test_portal_supplier_accepts_and_ships_through_the_html_forms(world: World) -> None:
    p = world.pipeline
    shop = await world.shop("portal")
    sid = await p.add_supplier("Shenzhen Gadgets", "portal")
    await p.map(shop, sid, SHOPIFY_LINES.values())
    key = await p.supplier_key(sid)
    shopify_id = 7_200_001
    order = await world.confirmed_order(shop, shopify_id)
    [so] = await p.supplier_orders(order["id"])
    await p.supplier_order_in(so["id"], "placed")  # portal orders are placed at once

    async with p.portal(key) as portal:
        assert f"/portal/orders/{so['id']}" in await portal.listing()
        page = await portal.page(so["id"])
        assert page.status_code == 200
        assert "Chestnut Street 92" in page.text and "IPOD2008GREEN" in page.text
        assert (await portal.act(so["id"], "accept")).status_code == 303
        bad = await portal.act(so["id"], "ship", carrier="China Post", tracking="RR123456784CN")
        assert bad.status_code == 422  # wrong check digit: refused, nothing shipped
        number = tracking_number()
        r = await portal.act(so["id"], "ship", carrier="China Post", tracking=number)
        assert r.status_code == 303, r.text
        assert f"/portal/orders/{so['id']}" not in await portal.listing()  # no longer open

    shipped = await p.order_in(order["id"], "shipped")
    assert status_moves(shipped) == ["confirmed", "shipped"]
    await p.fulfilments_sent(order["id"])
    [fulfilment] = world.shopify.fulfillments(shopify_id)
    [info] = fulfilment["trackingInfo"]
    assert (info["company"], info["number"]) == ("China Post", number)
    assert info["url"] == f"https://track.chinapost.com.cn/#/result?mailNo={number}"
    [mail] = await p.wait_mails(f"Your order #{shopify_id} has shipped")
    assert number in mail.get_content()
    d = await p.supplier_order(so["id"])
    assert [e["to_status"] for e in d["timeline"] if e["to_status"]] == [
        "pending",
        "placed",
        "accepted",
        "shipped",
    ]


async def test_http_supplier_gets_our_signed_post_and_ships_with_its_key(world: World) -> None:
    p = world.pipeline
    shop = await world.shop("http")
    async with FakeHttpSupplierServer().running() as fake:
        sid, key = await world.http_supplier(shop, fake)
        shopify_id = 7_300_001
        order = await world.confirmed_order(shop, shopify_id)
        [so] = await p.supplier_orders(order["id"])
        await p.supplier_order_in(so["id"], "placed")

        # the supplier received our POST once, signed (it verified it), our id as webhook-id
        [post] = fake.posts(so["id"])
        assert post.status == 201
        assert all(s.status != 401 for s in fake.recorder.seen)
        sent = post.json()
        assert sent["id"] == so["id"]
        assert sent["notice"]["order_number"] == f"#{shopify_id}"
        assert sent["notice"]["recipient"]["postal_code"] == "40202"
        assert sorted(i["sku"] for i in sent["notice"]["items"]) == sorted(SHOPIFY_LINES.values())
        assert (await p.supplier_order(so["id"]))["supplier_ref"] == "SUP-1"

        # it calls us back with its key: accept, then ship
        auth = {"authorization": f"Bearer {key}"}
        base = f"{p.gateway}/v1/supplier/orders/{so['id']}"
        r = await p.client.post(f"{base}/accept", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        number = tracking_number()
        ship = {"carrier": "China Post", "tracking_numbers": [number]}
        r = await p.client.post(f"{base}/ship", headers=auth, json=ship)
        assert r.status_code == 200 and r.json()["status"] == "shipped", r.text
        # the staff key is not the supplier's
        r = await p.client.post(f"{base}/ship", headers=p.admin, json=ship)
        assert r.status_code == 403

    await p.order_in(order["id"], "shipped")
    await p.fulfilments_sent(order["id"])
    [fulfilment] = world.shopify.fulfillments(shopify_id)
    assert [t["number"] for t in fulfilment["trackingInfo"]] == [number]
    [mail] = await p.wait_mails(f"Your order #{shopify_id} has shipped")
    assert number in mail.get_content()
    assert sid


async def test_reship_placed_once_and_its_parcel_recorded_without_a_second_fulfilment(
    world: World,
) -> None:
    """After the order shipped: aftersales' reship (delivered twice) is one new order at
    the http supplier, saying what it replaces; its tracking reaches order-intake as a
    replacement (no second Shopify fulfilment, no second "shipped" e-mail)."""
    p = world.pipeline
    shop = await world.shop("reship")
    async with FakeHttpSupplierServer().running() as fake:
        _, key = await world.http_supplier(shop, fake)
        shopify_id = 7_300_101
        order = await world.confirmed_order(shop, shopify_id)
        [so] = await p.supplier_orders(order["id"])
        await p.supplier_order_in(so["id"], "placed")
        auth = {"authorization": f"Bearer {key}"}
        ship = {"carrier": "China Post", "tracking_numbers": [tracking_number()]}
        r = await p.client.post(
            f"{p.gateway}/v1/supplier/orders/{so['id']}/ship", headers=auth, json=ship
        )
        assert r.status_code == 200, r.text
        await p.order_in(order["id"], "shipped")
        await p.fulfilments_sent(order["id"])

        line = order["lines"][0]
        reship = AftersalesReshipRequested(
            case_id=uuid.uuid4(),
            order_id=uuid.UUID(order["id"]),
            shop_id=uuid.UUID(shop.id),
            lines=[CaseLineV1(line_id=uuid.UUID(line["id"]), quantity=1)],
            reason="lost in transit",
        )
        await world.publish(reship)
        await world.publish(reship)
        rows = await p.supplier_orders(order["id"], count=2)
        [new] = [r for r in rows if r["case_id"] == str(reship.case_id)]
        await p.supplier_order_in(new["id"], "placed")
        [post] = fake.posts(new["id"])
        assert post.json()["notice"]["replacement"]["replaces_supplier_order_id"] == so["id"]
        again = tracking_number()
        r = await p.client.post(
            f"{p.gateway}/v1/supplier/orders/{new['id']}/ship",
            headers=auth,
            json={"carrier": "China Post", "tracking_numbers": [again]},
        )
        assert r.status_code == 200, r.text

    async def replaced() -> dict[str, Any] | None:
        found = await p.order(order["id"])
        kinds = [e["kind"] for e in found["timeline"]]
        return found if "replacement_shipped" in kinds else None

    after = await eventually(replaced, timeout=30, interval=0.1)
    assert after["status"] == "shipped"

    async def both_handled() -> bool:
        r = await p.client.get(f"{p.gateway}/metrics")
        return consumed(r.text, "aftersales.reship_requested") >= 2

    await eventually(both_handled, timeout=30, interval=0.1)
    assert len(await p.supplier_orders(order["id"], count=2)) == 2
    assert len(fake.posts()) == 2
    assert len(world.shopify.fulfillments(shopify_id)) == 1
    assert len(shipped_mail_of(world, shopify_id)) == 1


# -- split orders and backups ----------------------------------------------------------


async def test_split_order_partially_shipped_then_shipped(world: World) -> None:
    p, cj = world.pipeline, world.cj
    shop = await world.shop("split")
    green, red, black = SHOPIFY_LINES.values()
    cj_sid = await world.cj_supplier(shop, [green])
    async with FakeHttpSupplierServer().running() as fake:
        _, key = await world.http_supplier(shop, fake, [red, black])
        shopify_id = 7_400_001
        order = await world.confirmed_order(shop, shopify_id)
        rows = await p.supplier_orders(order["id"], count=2)
        assert len(rows) == 2
        by_supplier = {r["supplier_id"]: r for r in rows}
        cj_so = by_supplier.pop(cj_sid)
        [http_so] = by_supplier.values()
        assert [i["sku"] for i in cj_so["notice"]["items"]] == [green]
        assert sorted(i["sku"] for i in http_so["notice"]["items"]) == sorted([red, black])
        await p.supplier_order_in(cj_so["id"], "placed")
        await p.supplier_order_in(http_so["id"], "placed")
        assert len(cj.creates(cj_so["id"])) == 1 and len(fake.posts(http_so["id"])) == 1
        assert [i["sku"] for i in fake.posts(http_so["id"])[0].json()["notice"]["items"]] == [
            i["sku"] for i in http_so["notice"]["items"]
        ]

        first = tracking_number()
        r = await cj.send_logistics(p.client, p.gateway, cj_sid, cj_so["id"], first)
        assert r.status_code == 200, r.text
        partly = await p.order_in(order["id"], "partially_shipped")
        await p.fulfilments_sent(order["id"])
        [f1] = world.shopify.fulfillments(shopify_id)
        assert [i["lineItemId"] for i in f1["lineItems"]] == ["gid://shopify/LineItem/466157049"]
        assert [t["number"] for t in f1["trackingInfo"]] == [first]
        [mail1] = await p.wait_mails(f"Your order #{shopify_id} has shipped")
        assert first in mail1.get_content()

        second = tracking_number()
        r = await p.client.post(
            f"{p.gateway}/v1/supplier/orders/{http_so['id']}/ship",
            headers={"authorization": f"Bearer {key}"},
            json={"carrier": "YunExpress", "tracking_numbers": [second]},
        )
        assert r.status_code == 200, r.text

    shipped = await p.order_in(order["id"], "shipped")
    assert status_moves(shipped) == ["confirmed", "partially_shipped", "shipped"]
    assert status_moves(partly) == ["confirmed", "partially_shipped"]
    await p.fulfilments_sent(order["id"], count=2)
    f1, f2 = world.shopify.fulfillments(shopify_id)
    assert sorted(i["lineItemId"] for i in f2["lineItems"]) == [
        "gid://shopify/LineItem/518995019",
        "gid://shopify/LineItem/703073504",
    ]
    assert [(t["company"], t["number"]) for t in f2["trackingInfo"]] == [("YunExpress", second)]
    mails = await p.wait_mails(f"Your order #{shopify_id} has shipped", count=2)
    assert len(mails) == 2 and second in "".join(m.get_content() for m in mails)


async def test_rejection_re_placed_with_the_backup_supplier(world: World) -> None:
    p, cj = world.pipeline, world.cj
    shop = await world.shop("backup")
    first = await p.add_supplier("Out Of Stock Ltd", "portal")
    await p.map(shop, first, SHOPIFY_LINES.values(), priority=1)
    key = await p.supplier_key(first)
    backup = await p.add_supplier("CJ backup", "cjdropshipping", cj.credentials())
    await p.map(shop, backup, SHOPIFY_LINES.values(), priority=2)
    shopify_id = 7_500_001
    order = await world.confirmed_order(shop, shopify_id)
    [so] = await p.supplier_orders(order["id"])
    assert so["supplier_id"] == first
    await p.supplier_order_in(so["id"], "placed")
    assert cj.creates(so["id"]) == []  # a portal order: nothing sent to CJ

    async with p.portal(key) as portal:
        r = await portal.act(
            so["id"], "reject", reason="out_of_stock", restock_date="2027-01-15", note="sold out"
        )
        assert r.status_code == 303, r.text

    rows = await p.supplier_orders(order["id"], count=2)
    [replaced] = [r for r in rows if r["supplier_id"] == backup]
    assert (await p.supplier_order(so["id"]))["status"] == "rejected"
    await p.supplier_order_in(replaced["id"], "placed")
    assert len(cj.creates(replaced["id"])) == 1
    number = tracking_number()
    r = await cj.send_logistics(p.client, p.gateway, backup, replaced["id"], number)
    assert r.status_code == 200, r.text

    shipped = await p.order_in(order["id"], "shipped")
    assert "on_hold" not in status_moves(shipped)  # a backup was left: no hold
    await p.fulfilments_sent(order["id"])
    [fulfilment] = world.shopify.fulfillments(shopify_id)
    assert [t["number"] for t in fulfilment["trackingInfo"]] == [number]
    await p.wait_mails(f"Your order #{shopify_id} has shipped")


# -- faults: each ends with every order placed exactly once ---------------------------


async def _one_cj_order(world: World, name: str, shopify_id: int) -> tuple[str, dict[str, Any]]:
    shop = await world.shop(name)
    await world.cj_supplier(shop)
    order = await world.confirmed_order(shop, shopify_id)
    [so] = await world.pipeline.supplier_orders(order["id"])
    return so["id"], order


async def test_supplier_500s_then_placed_once(world: World) -> None:
    cj = world.cj
    cj.fake.create_faults.extend(["500", "500"])
    so_id, _ = await _one_cj_order(world, "e500", 7_600_001)
    d = await world.pipeline.supplier_order_in(so_id, "placed", timeout=30)
    assert [c.status for c in cj.creates(so_id)] == [500, 500, 200]
    assert list(cj.fake.orders).count(so_id) == 1
    outcomes = [a["outcome"] for a in attempts(d)]
    assert outcomes == ["retry", "retry", "placed"]
    # a 5xx may have created it: looked up by our number before each resend
    lookups = [s for s in cj.recorder.requests("GET", "/getOrderDetail") if so_id in s.query]
    assert len(lookups) >= 2


async def test_timeout_after_the_supplier_committed_resolved_by_lookup(world: World) -> None:
    cj = world.cj
    cj.fake.create_faults.append("hang")  # CJ creates the order, the answer never comes
    so_id, _ = await _one_cj_order(world, "timeout", 7_700_001)
    d = await world.pipeline.supplier_order_in(so_id, "placed", timeout=30)
    [create] = cj.creates(so_id)
    assert create.answered_at is None  # no answer was ever sent
    assert cj.fake.orders[so_id].order_number == so_id
    [attempt] = attempts(d)
    assert attempt["outcome"] == "placed" and attempt["found_by_lookup"] is True
    assert d["supplier_ref"] == cj.fake.orders[so_id].order_id
    cj.fake.release()


async def test_429_with_retry_after_is_waited_then_placed_once(world: World) -> None:
    cj = world.cj
    cj.fake.create_faults.append("429:2")
    so_id, _ = await _one_cj_order(world, "e429", 7_800_001)
    await world.pipeline.supplier_order_in(so_id, "placed", timeout=30)
    first, second = cj.creates(so_id)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.9  # Retry-After: 2 (seconds), honoured
    assert list(cj.fake.orders).count(so_id) == 1


async def _many(world: World, shop: Shop, ids: list[int]) -> None:
    for i in ids:
        world.shopify.add_order(i)
    await asyncio.gather(*(world.pipeline.post_order(shop, i) for i in ids))


async def _all_shipped_once(
    world: World, fake: FakeHttpSupplierServer, ids: list[int], timeout: float
) -> None:
    """Every order shipped, placed exactly once at the supplier, one fulfilment each."""
    p = world.pipeline

    async def done() -> bool:
        found = [await p.order_of(i) for i in ids]
        return all(o["status"] == "shipped" for o in found)

    await eventually(done, timeout=timeout, interval=0.5)
    # taken by the supplier: once per order; refused only when the gateway was killed
    # while sending (a body cut short fails the signature check)
    taken = [s.headers["webhook-id"] for s in fake.posts() if s.status in (200, 201)]
    assert len(taken) == len(set(taken)) == len(ids), f"{len(taken)} taken for {len(ids)}"
    assert sorted(fake.fake.orders) == sorted(taken)
    assert [s for s in fake.posts() if s.status not in (200, 201) and s.complete] == []
    assert sorted(int(s.order_number.lstrip("#")) for s in fake.shipped.values()) == sorted(ids)
    assert fake.ship_errors == []

    async def fulfilled() -> bool:
        return all(len(world.shopify.fulfillments(i)) == 1 for i in ids)

    await eventually(fulfilled, timeout=timeout, interval=0.2)

    async def told() -> bool:
        return all(len(shipped_mail_of(world, i)) == 1 for i in ids)

    await eventually(told, timeout=timeout, interval=0.2)


async def test_rabbitmq_restarted_mid_flow_every_order_placed_once(world: World) -> None:
    p = world.pipeline
    shop = await world.shop("rabbit")
    ids = list(range(7_900_001, 7_900_021))
    async with FakeHttpSupplierServer().running() as fake:
        _, key = await world.http_supplier(shop, fake)
        post, stopped = httpx_post(p.client, p.gateway), asyncio.Event()

        async def ship_once_stopped(
            path: str, body: bytes, headers: dict[str, str]
        ) -> tuple[int, bytes]:
            await stopped.wait()  # the supplier's tracking reaches the gateway mid-outage
            return await post(path, body, headers)

        fake.ship_at_once(ship_once_stopped, key)
        await _many(world, shop, ids[:10])

        async def moving() -> bool:
            return len(fake.posts()) >= 1

        await eventually(moving, timeout=30, interval=0.02)
        await world.mq.stop_app()
        stopped.set()
        try:
            # stopped mid-flow: orders on their way, none at the storefront yet
            assert not any(world.shopify.fulfillments(i) for i in ids[:10])
            await _many(world, shop, ids[10:])  # the webhooks are still taken
        finally:
            await world.mq.start_app()
        await _all_shipped_once(world, fake, ids, timeout=90)


async def test_gateway_killed_mid_message_every_order_placed_once(world: World) -> None:
    p = world.pipeline
    shop = await world.shop("kill")
    ids = list(range(8_000_001, 8_000_041))
    async with FakeHttpSupplierServer().running() as fake:
        _, key = await world.http_supplier(shop, fake)
        fake.ship_at_once(httpx_post(p.client, p.gateway), key)
        await _many(world, shop, ids)

        async def some_placed() -> bool:
            return len(fake.posts()) >= 3

        await eventually(some_placed, timeout=30, interval=0.02)
        world.procs["supplier-gateway"].kill()  # SIGKILL mid-stream: no shutdown code runs
        assert len(fake.posts()) < len(ids), "the gateway must be killed before it finished"
        await world.restart("supplier-gateway")
        await _all_shipped_once(world, fake, ids, timeout=90)
