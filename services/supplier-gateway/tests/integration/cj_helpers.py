"""Shared set-up for tests against the fake CJ: the fake on a real local port, the
gateway configured for it, a CJ supplier with one mapped SKU (``map_sku``, which the
other supplier kinds' tests use too)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dropship_common.contracts.order_intake import OrderCancellationRequested, OrderConfirmed
from dropship_testkit.fakes.cj import FakeCJ
from dropship_testkit.server import serving
from dropship_testkit.tap import eventually

FAST = {
    "placement_poll_seconds": 0.1,
    "placement_retry_base_seconds": 0.05,
    "placement_retry_cap_seconds": 0.3,
    "supplier_timeout_seconds": 1.0,
}


@asynccontextmanager
async def fake_cj(**kw: Any) -> AsyncIterator[tuple[FakeCJ, str]]:
    fake = FakeCJ(**kw)
    async with serving(fake.app()) as url:
        try:
            yield fake, url
        finally:
            fake.release()


async def cj_supplier(gw: Any, fake: FakeCJ, shop_id: uuid.UUID, **creds: Any) -> str:
    h = gw.admin_headers
    credentials = {
        "api_key": fake.api_key,
        "open_id": str(fake.open_id),
        "logistic_name": "CJPacket Ordinary",
        "qps": 5,
        **creds,
    }
    r = await gw.client.post(
        "/v1/suppliers",
        headers=h,
        json={
            "name": f"CJ {uuid.uuid4().hex[:6]}",
            "adapter": "cjdropshipping",
            "handling_days": 2,
            "credentials": credentials,
        },
    )
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    await map_sku(
        gw,
        shop_id,
        sid,
        "MUG-1",
        "CJ-PID-1",
        supplier_variant_id="92511400-C758-4474-93CA-66D442F5F787",
        unit_cost="3.10",
        customs_description="ceramic mug",
        weight_grams=350,
    )
    return sid


async def map_sku(
    gw: Any, shop_id: uuid.UUID, supplier_id: str, sku: str, product_id: str, **fields: Any
) -> None:
    """Map the shop's ``sku`` to the supplier's ``product_id`` (1 USD, "goods", 100 g
    unless ``fields`` say otherwise)."""
    mapping = {
        "sku": sku,
        "supplier_id": supplier_id,
        "supplier_product_id": product_id,
        "unit_cost": "1",
        "currency": "USD",
        "customs_description": "goods",
        "weight_grams": 100,
        **fields,
    }
    r = await gw.client.post(
        "/v1/mappings",
        headers=gw.admin_headers,
        json={"shop_id": str(shop_id), "mappings": [mapping]},
    )
    assert r.status_code == 201, r.text


async def supplier_order_of(gw: Any, order: OrderConfirmed) -> dict[str, Any]:
    async def one() -> dict[str, Any] | None:
        r = await gw.client.get(
            "/v1/supplier-orders",
            headers=gw.admin_headers,
            params={"order_id": str(order.order_id)},
        )
        found: list[dict[str, Any]] = r.json()["supplier_orders"]
        return found[0] if found else None

    return await eventually(one)


async def detail(gw: Any, supplier_order_id: str) -> dict[str, Any]:
    r = await gw.client.get(f"/v1/supplier-orders/{supplier_order_id}", headers=gw.admin_headers)
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


async def placed(gw: Any, supplier_order_id: str, timeout: float = 15.0) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        d = await detail(gw, supplier_order_id)
        return d if d["status"] == "placed" else None

    return await eventually(done, timeout=timeout)


def attempts(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["details"] for e in d["timeline"] if e["kind"] == "placement_attempt"]


async def cj_messages(gw: Any, **params: str) -> list[dict[str, Any]]:
    """``GET /v1/callbacks/cjdropshipping/messages`` (an operator's view)."""
    r = await gw.client.get(
        "/v1/callbacks/cjdropshipping/messages", headers=gw.admin_headers, params=params
    )
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["messages"]
    return found


async def settled(gw: Any, message_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The stored message of this ``messageId`` once the worker is done with it (not
    ``pending``)."""

    async def done() -> list[dict[str, Any]] | None:
        found = [m for m in await cj_messages(gw) if m["message_id"] == message_id]
        return found if found and found[0]["status"] != "pending" else None

    return await eventually(done, timeout=timeout)


async def request_cancellation(gw: Any, order: OrderConfirmed, reason: str = "buyer") -> None:
    """What order-intake publishes when an operator cancels an order after hand-off."""
    request = OrderCancellationRequested(
        order_id=order.order_id,
        shop_id=order.shop_id,
        reason=reason,
        requested_by="apikey:x",
        requested_at=dt.datetime.now(dt.UTC),
    )
    await gw.runtime.bus.publish([request.envelope(correlation_id=str(order.order_id))])
