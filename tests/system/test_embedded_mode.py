"""End to end in embedded mode: `dropship run` as a real process (SQLite files + the
embedded bus), a storefront posting a signed webhook, and a test consumer attached to
the bus file. Then the process is killed right after answering and started again."""

from __future__ import annotations

import email
import email.policy
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dropship_common import secretbox
from dropship_common.messaging.embedded import EmbeddedBus
from dropship_testkit.pytest_plugin import free_port
from dropship_testkit.storefront import SHOPIFY_SKUS, shopify_headers, shopify_order
from dropship_testkit.tap import EventTap, eventually

from .support import DROPSHIP, Proc, clean_env, run_cli

pytestmark = pytest.mark.system

SECRET = "embedded-secret-1"
DOMAIN = "embedded-shop.myshopify.com"


@dataclass
class Embedded:
    data: Path
    env: dict[str, str]
    port: int
    key: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def proc(self, log: str) -> Proc:
        return Proc([DROPSHIP, "run"], self.env, self.data / log)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[tuple[Embedded, EventTap]]:
    ports = {
        name: free_port()
        for name in ("ORDER_INTAKE", "SUPPLIER_GATEWAY", "LOGISTICS", "AFTERSALES")
    }
    env = clean_env(
        DROPSHIP_DATA_DIR=str(tmp_path / "data"),
        DROPSHIP_OUTBOX_POLL_SECONDS="0.2",
        **{f"DROPSHIP_{k}_PORT": str(v) for k, v in ports.items()},
    )
    emb = Embedded(tmp_path / "data", env, ports["ORDER_INTAKE"])
    bus = EmbeddedBus(emb.data / "bus.db", retry_delays_ms=[100], poll_interval=0.05)
    yield emb, bus  # type: ignore[misc]
    await bus.close()


async def _setup(emb: Embedded, proc: Proc) -> None:
    proc.wait_ready(f"{emb.base}/readyz")
    # the CLI works while the system runs and takes effect at once
    shop_id = run_cli(
        "shop",
        "add",
        "--platform",
        "shopify",
        "--domain",
        DOMAIN,
        "--webhook-secret",
        SECRET,
        env=emb.env,
    )
    emb.key = run_cli("apikey", "create", "--role", "admin", env=emb.env)
    shop = (await _get(emb, "/v1/shops"))[0]
    assert shop_id == shop["id"]  # `shop add` prints the new shop's id
    async with httpx.AsyncClient(base_url=emb.base) as c:
        r = await c.post(
            "/v1/products",
            headers={"authorization": f"Bearer {emb.key}"},
            json={"shop_id": shop["id"], "products": [{"sku": s} for s in SHOPIFY_SKUS]},
        )
        assert r.status_code == 201, r.text


async def _get(emb: Embedded, path: str, **params: str) -> list | dict:  # type: ignore[type-arg]
    async with httpx.AsyncClient(base_url=emb.base) as c:
        r = await c.get(path, headers={"authorization": f"Bearer {emb.key}"}, params=params)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


async def _post_webhook(emb: Embedded, order_id: int) -> httpx.Response:
    body = shopify_order(id=order_id, name=f"#{order_id}")
    async with httpx.AsyncClient(base_url=emb.base) as c:
        return await c.post(
            "/webhooks/shopify",
            content=body,
            headers=shopify_headers(body, SECRET, domain=DOMAIN, webhook_id=f"wh-{order_id}"),
        )


async def _confirmed(emb: Embedded, external_id: str) -> dict | None:  # type: ignore[type-arg]
    for o in (await _get(emb, "/v1/orders"))["items"]:  # type: ignore[call-overload]
        if o["external_id"] == external_id and o["status"] == "confirmed":
            return await _get(emb, f"/v1/orders/{o['id']}")  # type: ignore[return-value]
    return None


async def test_webhook_to_order_confirmed_in_one_process(embedded) -> None:  # type: ignore[no-untyped-def]
    emb, bus = embedded
    proc = emb.proc("run.log").start()
    try:
        await _setup(emb, proc)
        # `dropship run` says where each service's API docs are
        ports = [v for k, v in emb.env.items() if k.startswith("DROPSHIP_") and k.endswith("_PORT")]
        printed = proc.log.read_text()
        assert len(ports) == 4 and all(f":{port}/docs" in printed for port in ports), printed
        tap = await EventTap(bus, "test-tap").start(["order.confirmed"])
        r = await _post_webhook(emb, 1001)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        [event] = await tap.wait_for("order.confirmed", external_id="1001")
        order = await eventually(lambda: _confirmed(emb, "1001"))
        assert event.payload["order_id"] == order["id"]
        assert [e["to_status"] for e in order["timeline"] if e["kind"] == "status_changed"] == [
            "confirmed"
        ]

        # supplier-gateway, in the same process, received it through the bus
        async def unrouted() -> list[tuple[str]]:
            with sqlite3.connect(emb.data / "supplier_gateway.db") as con:
                return con.execute("select sku from unrouted_lines order by sku").fetchall()

        assert await eventually(unrouted) == [
            ("IPOD2008BLACK",),
            ("IPOD2008GREEN",),
            ("IPOD2008RED",),
        ]
        # the buyer's thank-you went to the mail folder
        mails = await eventually(lambda: _mails(emb.data))
        mail = email.message_from_string(mails[0], policy=email.policy.default)
        assert mail["To"] == "bob.norman@hostmail.com"
        assert mail["Subject"] == "Thank you for your order #1001"
        assert f"expected to ship by {order['ship_by']}" in mail.get_content()
    finally:
        proc.stop()


async def _mails(data: Path) -> list[str]:
    return [p.read_text() for p in sorted((data / "mail").glob("*.eml"))]


async def test_killed_right_after_answering_loses_nothing_and_publishes_once(embedded) -> None:  # type: ignore[no-untyped-def]
    emb, bus = embedded
    first = emb.proc("run1.log").start()
    try:
        await _setup(emb, first)
        await bus.declare("test-tap", ["order.confirmed"])  # bound, not consuming yet
        r = await _post_webhook(emb, 2002)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
    finally:
        first.kill()  # SIGKILL right after the 2xx: no shutdown code runs
    second = emb.proc("run2.log").start()
    try:
        second.wait_ready(f"{emb.base}/readyz")
        order = await eventually(lambda: _confirmed(emb, "2002"), timeout=30)

        def outbox_pending() -> int:
            with sqlite3.connect(emb.data / "order_intake.db") as con:
                return int(
                    con.execute(
                        "select count(*) from outbox where published_at is null"
                    ).fetchone()[0]
                )

        async def drained() -> bool:
            return outbox_pending() == 0

        await eventually(drained, timeout=30)
        tap = await EventTap(bus, "test-tap").start(["order.confirmed"])
        await tap.wait_for("order.confirmed", external_id="2002")

        def tap_backlog() -> int:
            with sqlite3.connect(emb.data / "bus.db") as con:
                return int(
                    con.execute(
                        "select count(*) from messages where queue = 'test-tap'"
                        " and state in ('ready', 'inflight')"
                    ).fetchone()[0]
                )

        async def tap_drained() -> bool:
            return tap_backlog() == 0

        await eventually(tap_drained)
        assert len(tap.of_type("order.confirmed", order_id=order["id"])) == 1
        assert [e["to_status"] for e in order["timeline"] if e["kind"] == "status_changed"] == [
            "confirmed"
        ]
    finally:
        second.stop()


def test_run_refuses_clearly_when_a_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = clean_env(
            DROPSHIP_DATA_DIR=str(tmp_path / "data"),
            DROPSHIP_ORDER_INTAKE_PORT=str(free_port()),
            DROPSHIP_SUPPLIER_GATEWAY_PORT=str(free_port()),
            DROPSHIP_LOGISTICS_PORT=str(port),
            DROPSHIP_AFTERSALES_PORT=str(free_port()),
        )
        done = subprocess.run(
            [DROPSHIP, "run"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 1
    assert f"logistics cannot listen on 127.0.0.1:{port}" in done.stderr
    assert not (tmp_path / "data").exists()  # nothing started, nothing written


def test_cli_adds_a_supplier_into_supplier_gateways_database(tmp_path: Path) -> None:
    env = clean_env(DROPSHIP_DATA_DIR=str(tmp_path / "data"))
    run_cli("migrate", "--service", "supplier-gateway", env=env)
    supplier_id = run_cli(
        "supplier",
        "add",
        "--name",
        "Yiwu Goods",
        "--adapter",
        "portal",
        "--handling-days",
        "3",
        "--contact-email",
        "ops@yiwu.example",
        env=env,
    )
    with sqlite3.connect(tmp_path / "data" / "supplier_gateway.db") as con:
        row = con.execute("select name, adapter, handling_days from suppliers").fetchone()
    assert row == ("Yiwu Goods", "portal", 3)
    assert len(supplier_id) == 36


def test_cli_adds_a_cj_supplier_with_credentials_from_a_file(tmp_path: Path) -> None:
    env = clean_env(DROPSHIP_DATA_DIR=str(tmp_path / "data"))
    run_cli("migrate", "--service", "supplier-gateway", env=env)
    creds = tmp_path / "cj.json"
    add = [
        "supplier",
        "add",
        "--name",
        "CJ",
        "--adapter",
        "cjdropshipping",
        "--handling-days",
        "2",
        "--credentials-file",
        str(creds),
    ]
    creds.write_text('{"api_key": ""}')  # no key: refused, nothing stored
    refused = subprocess.run(
        [DROPSHIP, *add], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2
    assert "invalid credentials for a cjdropshipping supplier" in refused.stderr
    creds.write_text(
        '{"api_key": "CJ1234567@api@0123456789abcdef", "logistic_name": "CJPacket Ordinary"}'
    )
    supplier_id = run_cli(*add, env=env)
    with sqlite3.connect(tmp_path / "data" / "supplier_gateway.db") as con:
        rows = con.execute("select id, adapter, credentials from suppliers").fetchall()
    assert len(rows) == 1
    # encrypted at rest under the key the first run made in the data dir
    assert rows[0][1] == "cjdropshipping" and "CJ1234567@api@" not in rows[0][2]
    ring = secretbox.Keyring.from_secrets(secretbox.embedded_key(tmp_path / "data"))
    assert "CJ1234567@api@" in ring.decrypt(rows[0][2])
    assert rows[0][0].replace("-", "") == supplier_id.replace("-", "")
