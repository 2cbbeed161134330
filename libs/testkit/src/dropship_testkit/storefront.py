"""Helpers for tests that act as a storefront: the vendors' real payloads, signed the
way each vendor signs them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from dropship_common.security import hmac_sha256_base64
from dropship_testkit.payloads import PAYLOADS

FIXTURES = PAYLOADS
SHOPIFY_SKUS = ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK")


def shopify_order_body() -> bytes:
    """The webhook body Shopify sends: the fixture's inner order object."""
    wrapped = json.loads((FIXTURES / "shopify" / "order.json").read_bytes())
    return json.dumps(wrapped["order"]).encode()


def shopify_order(**changes: Any) -> bytes:
    order = json.loads(shopify_order_body())
    order.update(changes)
    return json.dumps(order).encode()


def woo_order_body() -> bytes:
    return (FIXTURES / "woocommerce" / "order.json").read_bytes()


def shopify_headers(
    body: bytes,
    secret: str,
    *,
    topic: str = "orders/create",
    domain: str = "test-shop.myshopify.com",
    webhook_id: str | None = None,
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": domain,
        "x-shopify-hmac-sha256": hmac_sha256_base64(secret, body),
        "x-shopify-webhook-id": webhook_id or str(uuid.uuid4()),
        "x-shopify-triggered-at": "2026-11-22T00:00:00Z",
    }


def woo_headers(
    body: bytes, secret: str, *, topic: str = "order.created", delivery_id: str | None = None
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-source": "https://example.com/",
        "x-wc-webhook-signature": hmac_sha256_base64(secret, body),
        "x-wc-webhook-delivery-id": delivery_id or uuid.uuid4().hex,
    }


async def create_shop(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    platform: str = "shopify",
    domain: str = "test-shop.myshopify.com",
    secret: str = "shpss_test_secret_1",
    skus: tuple[str, ...] = SHOPIFY_SKUS,
    **extra: Any,
) -> str:
    r = await client.post(
        "/v1/shops",
        headers=headers,
        json={"platform": platform, "domain": domain, "webhook_secret": secret, **extra},
    )
    assert r.status_code == 201, r.text
    shop_id: str = r.json()["id"]
    if skus:
        r = await client.post(
            "/v1/products",
            headers=headers,
            json={"shop_id": shop_id, "products": [{"sku": s} for s in skus]},
        )
        assert r.status_code == 201, r.text
    return shop_id
