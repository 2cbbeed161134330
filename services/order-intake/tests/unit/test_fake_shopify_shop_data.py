"""Reconciliation's Shopify queries against the fake's documented rules: each under the
1,000-point limit as Shopify computes it, searched by ``updated_at``, paged by cursor,
subscriptions created as Shopify allows."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin
from dropship_testkit.fakes.shopify_cost import MAX_QUERY_COST, query_cost
from dropship_testkit.storefront import shopify_order_body
from order_intake.config import OrderIntakeSettings
from order_intake.fulfilment.base import ShopAccess, StorefrontRejected
from order_intake.storefront_sync import shopify
from order_intake.storefront_sync.base import WebhookTarget
from order_intake.storefront_sync.shopify import ShopifyApi, search_since

HOST = "s.myshopify.com"
T0 = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
async def fake() -> FakeShopifyAdmin:
    return FakeShopifyAdmin("tok")


@pytest.fixture
async def api(fake: FakeShopifyAdmin) -> AsyncIterator[ShopifyApi]:
    async with httpx.AsyncClient(
        transport=FakeNetwork({HOST: fake}), base_url=f"https://{HOST}"
    ) as client:
        access = ShopAccess(uuid.uuid4(), "shopify", HOST, {"access_token": "tok"})
        yield ShopifyApi(client, access, OrderIntakeSettings())


def put_orders(fake: FakeShopifyAdmin, n: int, lines: int = 3) -> None:
    for i in range(n):
        order = json.loads(shopify_order_body())
        items = [dict(order["line_items"][k % 3], id=9000 + k) for k in range(lines)]
        fake.shop.put_order(
            {**order, "id": 100 + i, "line_items": items}, T0 + dt.timedelta(minutes=i)
        )


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (shopify.ORDERS_QUERY, {"first": shopify.ORDERS_PAGE, "query": "x"}),
        (shopify.ORDER_QUERY, {"id": "gid://shopify/Order/1", "lines": shopify.LINES_PAGE}),
        (shopify.LINE_ITEMS_QUERY, {"id": "gid://shopify/Order/1", "lines": shopify.LINES_PAGE}),
        (shopify.SUBSCRIPTIONS_QUERY, {"first": shopify.SUBSCRIPTIONS_PAGE}),
        (shopify.SUBSCRIPTION_CREATE, {"topic": "ORDERS_PAID", "webhookSubscription": {}}),
    ],
)
def test_every_query_is_under_shopifys_limit(query: str, variables: dict[str, object]) -> None:
    assert query_cost(query, variables) < MAX_QUERY_COST


async def test_changed_orders_are_searched_and_paged(
    fake: FakeShopifyAdmin, api: ShopifyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shopify, "ORDERS_PAGE", 2)
    put_orders(fake, 5)
    assert search_since(T0 + dt.timedelta(minutes=2)) == "updated_at:>='2026-12-04T10:02:00Z'"
    pages = [p async for p in api.changed_orders(T0 + dt.timedelta(minutes=2))]
    assert [[o.external_id for o in page] for page in pages] == [["102", "103"], ["104"]]
    assert pages[0][0].updated_at == T0 + dt.timedelta(minutes=2)
    assert {c["served"] for c in fake.calls} == {OrderIntakeSettings().shopify_api_version}


async def test_an_order_with_more_lines_than_a_page_is_read_whole(
    fake: FakeShopifyAdmin, api: ShopifyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shopify, "LINES_PAGE", 2)
    put_orders(fake, 1, lines=5)
    [page] = [p async for p in api.changed_orders(T0 - dt.timedelta(minutes=1))]
    [order] = await api.complete(page)
    assert order.body is not None
    assert [line["id"] for line in json.loads(order.body)["line_items"]] == list(range(9000, 9005))
    assert len(fake.operations("order")) == 3  # 2 + 2 + 1 lines


async def test_first_over_250_is_refused(fake: FakeShopifyAdmin, api: ShopifyApi) -> None:
    with pytest.raises(StorefrontRejected, match="250"):
        await api.admin.execute(
            shopify.ORDERS_QUERY, {"first": 251, "query": ""}, what="orders", read_only=True
        )


async def test_subscriptions_as_shopify_allows(fake: FakeShopifyAdmin, api: ShopifyApi) -> None:
    create = shopify.SUBSCRIPTION_CREATE
    http = await api.admin.execute(
        create,
        {"topic": "ORDERS_PAID", "webhookSubscription": {"uri": "http://x/webhooks/shopify"}},
        what="create",
        read_only=False,
    )
    assert http["webhookSubscriptionCreate"]["userErrors"]
    target = WebhookTarget("https://x/webhooks/shopify", "/webhooks/shopify", "s")
    health = await api.check_webhooks(target)
    # the order topics and the aftersales ones (returns/request, refunds/create)
    assert health.status == "repaired" and len(fake.shop.subscriptions) == 6
    again = await api.admin.execute(
        create,
        {"topic": "ORDERS_PAID", "webhookSubscription": {"uri": "https://x/webhooks/shopify"}},
        what="create",
        read_only=False,
    )
    [error] = again["webhookSubscriptionCreate"]["userErrors"]
    assert error["message"] == "Address for this topic has already been taken"
    with pytest.raises(StorefrontRejected, match="WebhookSubscriptionTopic"):
        await api.admin.execute(
            create,
            {"topic": "ORDERS_SHIPPED", "webhookSubscription": {"uri": "https://x/h"}},
            what="create",
            read_only=False,
        )
