"""WooCommerce webhooks with the vendor's real payload."""

from __future__ import annotations

import json

import pytest

from dropship_testkit.storefront import create_shop, woo_headers, woo_order_body
from dropship_testkit.tap import eventually

from .conftest import Intake

pytestmark = pytest.mark.integration

WOO_SECRET = "woo-secret-123"


@pytest.fixture
async def woo(intake: Intake) -> tuple[Intake, str]:
    shop_id = await create_shop(
        intake.client,
        intake.h,
        platform="woocommerce",
        domain="example.com",
        secret=WOO_SECRET,
        skus=("Bar3",),
    )
    return intake, shop_id


async def test_creation_ping_gets_2xx_and_stores_nothing(woo: tuple[Intake, str]) -> None:
    intake, shop_id = woo
    r = await intake.client.post(
        f"/webhooks/woocommerce/{shop_id}",
        content=b"webhook_id=17",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json()["status"] == "ping"
    assert await intake.deliveries() == []


async def test_line_without_sku_holds_until_the_product_is_known(woo: tuple[Intake, str]) -> None:
    intake, shop_id = woo
    body = woo_order_body()
    r = await intake.client.post(
        f"/webhooks/woocommerce/{shop_id}", content=body, headers=woo_headers(body, WOO_SECRET)
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"

    async def held() -> list | None:
        r = await intake.client.get("/v1/orders", headers=intake.h, params={"shop_id": shop_id})
        items = r.json()["items"]
        return items if items and items[0]["status"] == "on_hold" else None

    [order] = await eventually(held)
    assert order["number"] == "727"
    assert order["payment_status"] == "paid"
    assert [h["code"] for h in order["hold_reasons"]] == ["missing_sku"]
    assert order["lines"][1]["properties"] == [
        {"name": "pa_color", "value": "black"},
        {"name": "size", "value": "M Test"},
    ]
    # releasing without a fix: still held, and says why
    r = await intake.client.post(f"/v1/orders/{order['id']}/release", headers=intake.h)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "still_on_hold"
    assert r.json()["error"]["details"][0]["code"] == "missing_sku"
    # the operator registers the product by its WooCommerce id, then releases
    r = await intake.client.post(
        "/v1/products",
        headers=intake.h,
        json={"shop_id": shop_id, "products": [{"external_product_id": "93", "title": "Woo 1"}]},
    )
    assert r.status_code == 201
    r = await intake.client.post(f"/v1/orders/{order['id']}/release", headers=intake.h)
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["status"] == "confirmed"
    assert released["hold_reasons"] == []
    assert released["timeline"][-1]["actor"] == "admin-token"
    [event] = await intake.tap.wait_for("order.confirmed", order_id=order["id"])
    assert event.payload["lines"][0]["external_product_id"] == "93"


async def test_order_deleted_cancels(woo: tuple[Intake, str]) -> None:
    intake, shop_id = woo
    body = woo_order_body()
    url = f"/webhooks/woocommerce/{shop_id}"
    await intake.client.post(url, content=body, headers=woo_headers(body, WOO_SECRET))
    deleted = json.dumps({"id": 727}).encode()
    r = await intake.client.post(
        url, content=deleted, headers=woo_headers(deleted, WOO_SECRET, topic="order.deleted")
    )
    assert r.status_code == 200

    async def cancelled() -> list | None:
        items = (await intake.client.get("/v1/orders", headers=intake.h)).json()["items"]
        return items if items and items[0]["status"] == "cancelled" else None

    [order] = await eventually(cancelled)
    assert [
        e["to_status"] for e in (await intake.order(order["id"]))["timeline"] if e["to_status"]
    ][-1] == "cancelled"


async def test_woo_forged_signature_and_unknown_shop(woo: tuple[Intake, str]) -> None:
    intake, shop_id = woo
    body = woo_order_body()
    r = await intake.client.post(
        f"/webhooks/woocommerce/{shop_id}", content=body, headers=woo_headers(body, "wrong")
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
    forged = r.json()
    r = await intake.client.post(
        "/webhooks/woocommerce/00000000-0000-0000-0000-000000000000",
        content=body,
        headers=woo_headers(body, WOO_SECRET),
    )
    # the same answer: which shop ids exist cannot be told from it
    assert (r.status_code, r.json()) == (401, forged)
    assert await intake.deliveries() == []


async def test_woo_replayed_delivery_is_answered_200_and_has_no_effect(
    woo: tuple[Intake, str],
) -> None:
    intake, shop_id = woo
    body = woo_order_body()
    headers = woo_headers(body, WOO_SECRET, delivery_id="replayed-1")
    url = f"/webhooks/woocommerce/{shop_id}"
    first = await intake.client.post(url, content=body, headers=headers)
    again = await intake.client.post(url, content=body, headers=headers)
    assert (first.status_code, first.json()["status"]) == (200, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert len(await intake.deliveries()) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"id": 727, "line_items": [', 400, "invalid_json"),
        (json.dumps({"id": "seven"}).encode(), 422, "validation_error"),
        (b'{"id": 727, "note": "' + b"x" * (1024 * 1024 + 10) + b'"}', 413, "payload_too_large"),
    ],
    ids=["invalid-json", "wrong-type-and-missing", "over-1-MiB"],
)
async def test_woo_bad_body_is_a_clear_error_and_stores_nothing(
    woo: tuple[Intake, str], body: bytes, status: int, code: str
) -> None:
    intake, shop_id = woo
    r = await intake.client.post(
        f"/webhooks/woocommerce/{shop_id}", content=body, headers=woo_headers(body, WOO_SECRET)
    )
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    assert await intake.deliveries() == []
    assert await intake.orders() == []
