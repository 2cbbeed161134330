"""`dropship shop add` with admin credentials checks the shop's webhook subscriptions at
once: the CLI as a real process (SQLite files), the fake WooCommerce on a local port."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import uvicorn

from dropship_testkit.fakes import FakeWooCommerce
from dropship_testkit.pytest_plugin import free_port
from dropship_testkit.tap import eventually

from .support import LOOPBACK, clean_env, run_cli

pytestmark = pytest.mark.system

DOMAIN = "cli-woo.example.com"
BASE = "https://hooks.dropship.example"


async def _started(server: uvicorn.Server) -> bool:
    return server.started


async def test_shop_add_with_credentials_creates_the_missing_webhooks(tmp_path: Path) -> None:
    fake = FakeWooCommerce("ck_cli", "cs_cli")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_config=None, log_level=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server))
        env = clean_env(
            DROPSHIP_DATA_DIR=str(tmp_path / "data"),
            DROPSHIP_STOREFRONT_ROUTES=f"{DOMAIN}=http://127.0.0.1:{port}",
            DROPSHIP_OUTBOUND_ALLOW=LOOPBACK,
            DROPSHIP_WEBHOOK_BASE_URL=BASE,
        )
        credentials = tmp_path / "woo.json"
        credentials.write_text(json.dumps({"consumer_key": "ck_cli", "consumer_secret": "cs_cli"}))
        await asyncio.to_thread(run_cli, "migrate", "-s", "order-intake", env=env)
        # a shop without credentials: webhooks only, nothing is asked of the store
        await asyncio.to_thread(
            run_cli,
            "shop", "add", "--platform", "woocommerce", "--domain", "plain.example.com",
            "--webhook-secret", "plain-secret-1",
            env=env,
        )  # fmt: skip
        assert fake.calls == []

        shop_id = await asyncio.to_thread(
            run_cli,
            "shop", "add", "--platform", "woocommerce", "--domain", DOMAIN,
            "--webhook-secret", "cli-secret-1", "--credentials-file", str(credentials),
            env=env,
        )  # fmt: skip
        hooks = {h["topic"]: h for h in fake.webhooks.values()}
        assert set(hooks) == {"order.created", "order.updated", "order.deleted"}
        assert {h["delivery_url"] for h in hooks.values()} == {
            f"{BASE}/webhooks/woocommerce/{shop_id}"
        }
        listed = json.loads(
            (await asyncio.to_thread(run_cli, "shop", "list", env=env)).splitlines()[-1]
        )
        assert listed["id"] == shop_id
        assert listed["webhook_health"]["status"] == "repaired"
    finally:
        server.should_exit = True
        await serving
