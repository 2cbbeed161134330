"""End to end in distributed mode: each service its own process (`dropship serve`) on
PostgreSQL and RabbitMQ, driven over HTTP as a storefront would; plus the faults:
the broker stopped while webhooks arrive, a consumer killed mid-stream."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest

from dropship_common.contracts.order_intake import AddressV1, BuyerV1, OrderConfirmed, OrderLineV1
from dropship_common.messaging.envelope import Envelope
from dropship_common.settings import Settings
from dropship_testkit.private_infra import PrivateRabbit
from dropship_testkit.pytest_plugin import (
    ADMIN_TOKEN,
    TEST_SECRET,
    distributed_settings,
    free_port,
)
from dropship_testkit.storefront import create_shop, shopify_headers, shopify_order
from dropship_testkit.tap import EventTap, eventually

from .support import DROPSHIP, Proc, service_env

pytestmark = pytest.mark.system

SECRET = "dist-secret-1"
DOMAIN = "dist-shop.myshopify.com"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def mq(private_mq: PrivateRabbit) -> PrivateRabbit:
    return private_mq


@pytest.fixture(scope="module")
def amqp_url(mq: PrivateRabbit) -> str:
    """The services and taps of this module are on its own node (a test stops it)."""
    return mq.url


@dataclass
class Stack:
    settings: Settings  # the shared bus settings (for the test consumer)
    urls: dict[str, str]  # service -> database URL
    procs: dict[str, Proc]
    base: str  # order-intake
    tap: EventTap

    def restart(self, service: str) -> None:
        self.procs[service] = self.procs[service].restart()


def _proc(
    service: str,
    db_url: str,
    bus: Settings,
    port: int,
    log: Path,
    *args: str,
    **env_extra: str,
) -> Proc:
    env = service_env(
        database_url=db_url,
        bus_url=bus.bus_url,
        exchange=bus.exchange,
        port=port,
        secret_key=TEST_SECRET,
        admin_token=ADMIN_TOKEN,
        **{
            "DROPSHIP_OUTBOX_POLL_SECONDS": "0.2",
            "DROPSHIP_RETRY_DELAYS_MS": "[100, 500]",
            **env_extra,
        },
    )
    return Proc([DROPSHIP, "serve", service, *args], env, log).start()


@pytest.fixture
async def stack(databases, amqp_url, tap_factory, tmp_path) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    urls = {s: await databases.new(s) for s in ("order-intake", "supplier-gateway")}
    bus = distributed_settings("order-intake", urls["order-intake"], amqp_url)
    ports = {s: free_port() for s in urls}
    procs = {s: _proc(s, urls[s], bus, ports[s], tmp_path / f"{s}.log") for s in urls}
    try:
        for s, p in procs.items():
            p.wait_ready(f"http://127.0.0.1:{ports[s]}/readyz")
        tap = await tap_factory(bus, ["order.#"])
        yield Stack(bus, urls, procs, f"http://127.0.0.1:{ports['order-intake']}", tap)
    finally:
        for p in procs.values():
            p.stop()


async def _query(db_url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _shop(client: httpx.AsyncClient) -> None:
    await create_shop(client, ADMIN, domain=DOMAIN, secret=SECRET)


async def _post(client: httpx.AsyncClient, n: int) -> httpx.Response:
    body = shopify_order(id=n, name=f"#{n}")
    headers = shopify_headers(body, SECRET, domain=DOMAIN, webhook_id=f"wh-{n}")
    return await client.post("/webhooks/shopify", content=body, headers=headers)


async def test_signed_webhook_to_order_confirmed_across_processes(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base) as client:
        await _shop(client)
        r = await _post(client, 5001)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        [event] = await stack.tap.wait_for("order.confirmed", external_id="5001")
        r = await client.get(f"/v1/orders/{event.payload['order_id']}", headers=ADMIN)
        order = r.json()
    assert order["status"] == "confirmed"
    assert order["number"] == "#5001"
    assert [(e["kind"], e["to_status"]) for e in order["timeline"]] == [
        ("received", None),
        ("status_changed", "confirmed"),
    ]
    # supplier-gateway, another process, got it from its own queue
    # supplier-gateway, another process, opened the order's supplier side: no supplier is
    # mapped here, so its three lines are listed as unrouted
    sql = f"select sku from unrouted_lines where order_id = '{event.payload['order_id']}'"
    skus = await eventually(lambda: _query(stack.urls["supplier-gateway"], sql))
    assert sorted(s for (s,) in skus) == ["IPOD2008BLACK", "IPOD2008GREEN", "IPOD2008RED"]


async def test_broker_stopped_while_webhooks_arrive_every_order_kept_and_published(
    stack: Stack, mq: PrivateRabbit
) -> None:
    n = 20
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as client:
        await _shop(client)
        await mq.stop_app()
        try:
            answers = [await _post(client, 6000 + i) for i in range(n)]
            assert [a.status_code for a in answers] == [200] * n
            assert {a.json()["status"] for a in answers} == {"accepted"}

            async def all_confirmed() -> bool:
                r = await client.get("/v1/orders", headers=ADMIN, params={"status": "confirmed"})
                return len(r.json()["items"]) == n

            await eventually(all_confirmed, timeout=30)
            assert stack.tap.of_type("order.confirmed") == []
        finally:
            await mq.start_app()
    events = await stack.tap.wait_for("order.confirmed", count=n, timeout=90)
    assert sorted(int(e.payload["external_id"]) for e in events) == list(range(6000, 6000 + n))

    async def all_consumed() -> bool:
        sql = "select count(*) from inbox where type = 'order.confirmed'"
        return (await _query(stack.urls["supplier-gateway"], sql))[0][0] == n

    await eventually(all_consumed, timeout=60)


def _confirmed(i: int) -> Envelope:
    now = dt.datetime.now(dt.UTC)
    event = OrderConfirmed(
        order_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        platform="custom",
        external_id=str(i),
        number=None,
        currency="USD",
        total_price=Decimal(1),
        shipping_method=None,
        buyer=BuyerV1(name="B", email=None, phone=None, language="en"),
        shipping_address=AddressV1(
            name="B", line1="Main St 1", city="C", postal_code="10001", country_code="US"
        ),
        lines=[
            OrderLineV1(line_id=uuid.uuid4(), sku="X", title="X", quantity=1, unit_price=Decimal(1))
        ],
        note=None,
        note_attributes=[],
        confirmed_at=now,
        ship_by=now.date(),
    )
    return event.envelope(correlation_id=str(event.order_id))


async def _applied(db_url: str) -> list[str]:
    """Each order.confirmed leaves its order in confirmed_orders (in the handler's
    transaction, with the inbox row): a message applied twice would show twice."""
    return [str(r[0]) for r in await _query(db_url, "select order_id from confirmed_orders")]


async def test_consumer_killed_mid_stream_every_message_applied_once(stack: Stack) -> None:
    n = 300
    envelopes = [_confirmed(i) for i in range(n)]
    await stack.tap.bus.publish(envelopes)
    db = stack.urls["supplier-gateway"]

    async def some_applied() -> bool:
        return len(await _applied(db)) >= 20

    await eventually(some_applied, timeout=30)
    stack.procs["supplier-gateway"].kill()  # SIGKILL mid-stream: unacked messages come back
    partial = len(await _applied(db))
    assert partial < n, "the consumer must be killed before it finished"
    stack.restart("supplier-gateway")

    async def all_applied() -> list[str] | None:
        got = await _applied(db)
        return got if len(got) >= n else None

    applied = await eventually(all_applied, timeout=90)
    assert sorted(applied) == sorted(e.payload["order_id"] for e in envelopes)
    inbox = await _query(db, "select count(*) from inbox where type = 'order.confirmed'")
    assert inbox[0][0] == n
    unrouted = await _query(db, "select count(*) from unrouted_lines")
    assert unrouted[0][0] == n  # one line each, once


async def test_api_and_worker_as_separate_processes(
    databases, amqp_url, tap_factory, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The deployment for load: `--role api` answers, `--role worker` processes and
    publishes, woken by PostgreSQL NOTIFY."""
    db_url = await databases.new("order-intake")
    bus = distributed_settings("order-intake", db_url, amqp_url)
    api_port, worker_port = free_port(), free_port()
    slow_polling = {"DROPSHIP_OUTBOX_POLL_SECONDS": "30"}
    api = _proc("order-intake", db_url, bus, api_port, tmp_path / "api.log", "--role", "api")
    worker = _proc(
        "order-intake",
        db_url,
        bus,
        worker_port,
        tmp_path / "worker.log",
        "--role",
        "worker",
        **slow_polling,
    )
    try:
        api.wait_ready(f"http://127.0.0.1:{api_port}/readyz")
        worker.wait_ready(f"http://127.0.0.1:{worker_port}/readyz")
        r = httpx.get(f"http://127.0.0.1:{api_port}/readyz")
        assert set(r.json()["checks"]) == {"database"}  # the API process needs no broker
        tap = await tap_factory(bus, ["order.confirmed"])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as client:
            await _shop(client)
            assert (await _post(client, 7001)).json()["status"] == "accepted"
            # polling is every 30 s here: an event within 15 s proves the NOTIFY wake-up
            [event] = await tap.wait_for("order.confirmed", external_id="7001", timeout=15)
            r = await client.get(f"/v1/orders/{event.payload['order_id']}", headers=ADMIN)
            assert r.json()["status"] == "confirmed"
    finally:
        api.stop()
        worker.stop()
