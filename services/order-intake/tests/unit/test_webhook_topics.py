"""A body must be the shape of its (unsigned) topic: a signed body resent under a
destructive topic is not that topic's body (issue 11, §2)."""

from __future__ import annotations

import json

import pytest

from dropship_testkit.storefront import shopify_order, shopify_order_body, woo_order_body
from order_intake.webhooks.topics import shape_problem, validate_body


def problem(platform: str, topic: str, body: bytes) -> str | None:
    return shape_problem(platform, topic, validate_body(platform, topic, body))


def test_a_woocommerce_deletion_is_the_id_alone() -> None:
    assert problem("woocommerce", "order.deleted", b'{"id": 727}') is None
    assert problem("woocommerce", "order.deleted", woo_order_body()) is not None
    assert problem("woocommerce", "order.deleted", b'{"id": 727, "status": "trash"}') is not None


def test_a_shopify_cancellation_has_cancelled_at() -> None:
    assert problem("shopify", "orders/cancelled", shopify_order_body()) is not None
    cancelled = shopify_order(cancelled_at="2008-01-11T11:00:00-05:00")
    assert problem("shopify", "orders/cancelled", cancelled) is None


@pytest.mark.parametrize(
    ("platform", "topic"),
    [
        ("woocommerce", "order.created"),
        ("woocommerce", "order.updated"),
        ("woocommerce", "order.restored"),
        ("shopify", "orders/create"),
        ("shopify", "orders/updated"),
        ("shopify", "orders/paid"),
    ],
)
def test_other_order_topics_take_any_valid_order(platform: str, topic: str) -> None:
    body = woo_order_body() if platform == "woocommerce" else shopify_order_body()
    assert problem(platform, topic, body) is None
    cancelled = json.loads(body)
    cancelled.update(status="cancelled", cancelled_at="2008-01-11T11:00:00-05:00")
    assert problem(platform, topic, json.dumps(cancelled).encode()) is None
