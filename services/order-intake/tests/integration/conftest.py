"""order-intake in this process on real PostgreSQL + RabbitMQ, with a test consumer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.storefront import create_shop
from dropship_testkit.tap import EventTap, eventually
from order_intake.main import SPEC

SECRET = "shpss_test_secret_1"
DOMAIN = "test-shop.myshopify.com"


@dataclass
class Intake:
    svc: RunningService
    tap: EventTap
    shop_id: str

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.svc.client

    @property
    def h(self) -> dict[str, str]:
        return self.svc.admin_headers

    async def order(self, order_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/orders/{order_id}", headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def orders(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/v1/orders", headers=self.h, params=params)
        assert r.status_code == 200, r.text
        return r.json()["items"]  # type: ignore[no-any-return]

    async def wait_order(self, external_id: str, status: str | None = None) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            for o in await self.orders(shop_id=self.shop_id, limit=500):
                if o["external_id"] == external_id and (status is None or o["status"] == status):
                    return await self.order(o["id"])
            return None

        return await eventually(probe)

    async def deliveries(self, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        r = await self.client.get("/v1/webhook-deliveries", headers=self.h, params=params)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture
async def intake(start_service, tap_factory) -> Intake:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["order.#"])
    shop_id = await create_shop(svc.client, svc.admin_headers, domain=DOMAIN, secret=SECRET)
    return Intake(svc=svc, tap=tap, shop_id=shop_id)
