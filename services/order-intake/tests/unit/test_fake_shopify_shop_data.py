"""The fake Shopify shop's documented rules for the operations reconciliation uses."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dropship_common.testing.fakes.shopify_orders import GraphQLError, ShopData
from order_intake.storefront_sync.shopify import search_since
from order_intake.testing import shopify_order_body

T0 = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)


def shop_with_orders(n: int) -> ShopData:
    shop = ShopData()
    for i in range(n):
        order = json.loads(shopify_order_body())
        shop.put_order({**order, "id": 100 + i}, T0 + dt.timedelta(minutes=i))
    return shop


def test_orders_are_searched_by_updated_at_and_paged_by_cursor() -> None:
    shop = shop_with_orders(5)
    query = search_since(T0 + dt.timedelta(minutes=2))
    assert query == "updated_at:>='2026-12-04T10:02:00Z'"
    first = shop.orders_connection({"first": 2, "query": query})["orders"]
    assert [n["legacyResourceId"] for n in first["nodes"]] == ["102", "103"]
    assert first["pageInfo"]["hasNextPage"]
    rest = shop.orders_connection(
        {"first": 2, "query": query, "after": first["pageInfo"]["endCursor"]}
    )["orders"]
    assert [n["legacyResourceId"] for n in rest["nodes"]] == ["104"]
    assert not rest["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize("first", [0, 251, None])
def test_first_is_between_1_and_250(first: int | None) -> None:
    with pytest.raises(GraphQLError):
        shop_with_orders(1).orders_connection({"first": first, "query": ""})


def test_subscription_create_refuses_http_and_a_second_of_the_same_topic() -> None:
    shop = ShopData()
    create = shop.webhook_subscription_create
    refused = create({"topic": "ORDERS_PAID", "webhookSubscription": {"uri": "http://x/h"}})
    assert refused["webhookSubscriptionCreate"]["userErrors"]
    ok = create({"topic": "ORDERS_PAID", "webhookSubscription": {"uri": "https://x/h"}})
    assert ok["webhookSubscriptionCreate"]["userErrors"] == []
    again = create({"topic": "ORDERS_PAID", "webhookSubscription": {"uri": "https://x/h"}})
    [error] = again["webhookSubscriptionCreate"]["userErrors"]
    assert error["message"] == "Address for this topic has already been taken"
    with pytest.raises(GraphQLError):
        create({"topic": "ORDERS_SHIPPED", "webhookSubscription": {"uri": "https://x/h"}})
