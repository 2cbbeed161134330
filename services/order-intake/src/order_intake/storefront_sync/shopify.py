"""Shopify Admin GraphQL: orders updated since the last sync, and the shop's webhook
subscriptions.

Orders in two steps, each query well under Shopify's 1,000-point limit on a query's
requested cost (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits):

1. ``orders(first: 250, query: "updated_at:>='…'", sortKey: UPDATED_AT)``, ids and
   ``updatedAt`` only (252 points), paginated by cursor;
2. for the versions we lack only, ``order(id:)`` with the fields the webhook intake
   reads and ``lineItems(first: 100)`` (632 points), more line pages when an order
   has more; mapped to the REST body of the ``orders/updated`` webhook
   (:mod:`.shopify_order`).

Subscriptions: ``webhookSubscriptions`` lists the shop-scoped subscriptions made through
the API by this app (https://shopify.dev/docs/api/admin-graphql/latest/queries/webhookSubscriptions:
not those declared in an app's ``shopify.app.toml``, nor those made in the Shopify
admin). Ours are the JSON ones whose ``uri`` ends with ``/webhooks/shopify``; a missing
topic is created with ``webhookSubscriptionCreate`` when our public URL is known. The
compliance topics cannot be subscribed through the API (app configuration only), so
they are not checked here.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import orjson

from order_intake.fulfilment.base import StorefrontRejected, StorefrontUnavailable
from order_intake.storefront_sync.base import (
    FetchedOrder,
    StorefrontApi,
    WebhookHealth,
    WebhookTarget,
    summarise,
)
from order_intake.storefront_sync.shopify_client import admin_client
from order_intake.storefront_sync.shopify_order import (
    ADDRESS_FRAGMENT,
    LINE_FIELDS,
    ORDER_FIELDS,
    to_rest,
)
from order_intake.storefronts import to_utc
from order_intake.storefronts.shopify_admin import AdminClient

ORDERS_PAGE = 250
LINES_PAGE = 100
SHIPPING_LINES = 5
SUBSCRIPTIONS_PAGE = 100
# the topics the README asks merchants to subscribe (compliance topics are subscribed
# in the app's configuration, not through the API): the orders, and the aftersales
# signals (``returns/request`` needs the ``read_returns`` scope)
TOPICS = {
    "orders/create": "ORDERS_CREATE",
    "orders/paid": "ORDERS_PAID",
    "orders/updated": "ORDERS_UPDATED",
    "orders/cancelled": "ORDERS_CANCELLED",
    "returns/request": "RETURNS_REQUEST",
    "refunds/create": "REFUNDS_CREATE",
}

ORDERS_QUERY = """
query ChangedOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { legacyResourceId updatedAt }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()

_ORDER_FIELDS = ORDER_FIELDS.replace("SHIPPING_LINES", str(SHIPPING_LINES))
ORDER_QUERY = f"""
query OrderForIntake($id: ID!, $lines: Int!) {{
  order(id: $id) {{
{_ORDER_FIELDS}
    lineItems(first: $lines) {{
{LINE_FIELDS}
    }}
  }}
}}
{ADDRESS_FRAGMENT}""".strip()

LINE_ITEMS_QUERY = f"""
query MoreLineItems($id: ID!, $lines: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $lines, after: $after) {{
{LINE_FIELDS}
    }}
  }}
}}""".strip()

SUBSCRIPTIONS_QUERY = """
query Subscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes { id topic format uri }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()

SUBSCRIPTION_CREATE = """
mutation SubscriptionCreate(
  $topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
""".strip()


def search_since(since: dt.datetime) -> str:
    """Shopify search syntax for "updated at or after ``since``" (UTC)."""
    stamp = since.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"updated_at:>='{stamp}'"


def _connection(data: Mapping[str, Any] | None, what: str) -> tuple[list[Any], str | None]:
    """Nodes and the next page's cursor (None on the last page)."""
    if not isinstance(data, Mapping):
        raise StorefrontUnavailable(f"{what}: no connection in the answer")
    info = data.get("pageInfo") or {}
    nodes = [n for n in data.get("nodes") or [] if isinstance(n, Mapping)]
    return nodes, (info.get("endCursor") if info.get("hasNextPage") else None)


class ShopifyApi(StorefrontApi):
    platform: ClassVar[str] = "shopify"

    @functools.cached_property
    def admin(self) -> AdminClient:
        """The shared Admin GraphQL client (raises StorefrontRejected without a token)."""
        return admin_client(self.client, self.shop, self.settings)

    async def _query(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        return await self.admin.execute(query, variables, what=what, read_only=True)

    async def changed_orders(self, since: dt.datetime) -> AsyncIterator[list[FetchedOrder]]:
        after: str | None = None
        while True:
            data = await self._query(
                ORDERS_QUERY,
                {"first": ORDERS_PAGE, "after": after, "query": search_since(since)},
                "orders",
            )
            nodes, after = _connection(data.get("orders"), "orders")
            yield [
                FetchedOrder(
                    str(n["legacyResourceId"]),
                    to_utc(dt.datetime.fromisoformat(str(n["updatedAt"]).replace("Z", "+00:00"))),
                    "orders/updated",
                )
                for n in nodes
                if n.get("legacyResourceId") and n.get("updatedAt")
            ]
            if after is None:
                return

    async def complete(self, orders: list[FetchedOrder]) -> list[FetchedOrder]:
        done = []
        for order in orders:
            body = await self._order_body(order.external_id)
            if body is not None:
                done.append(FetchedOrder(order.external_id, order.updated_at, order.topic, body))
        return done

    async def current_order(self, external_id: str) -> bytes | None:
        """``order(id:)``: null for an order Shopify does not have (deleted)."""
        return await self._order_body(external_id)

    async def _order_body(self, external_id: str) -> bytes | None:
        gid = f"gid://shopify/Order/{external_id}"
        data = await self._query(ORDER_QUERY, {"id": gid, "lines": LINES_PAGE}, "order")
        node = data.get("order")
        if not isinstance(node, Mapping):
            return None  # deleted since it was listed
        lines, after = _connection(node.get("lineItems"), "order line items")
        while after is not None:
            more = await self._query(
                LINE_ITEMS_QUERY,
                {"id": gid, "lines": LINES_PAGE, "after": after},
                "order line items",
            )
            page, after = _connection((more.get("order") or {}).get("lineItems"), "line items")
            lines += page
        return orjson.dumps(to_rest(node, lines))

    async def check_webhooks(self, target: WebhookTarget) -> WebhookHealth:
        subscriptions: list[Mapping[str, Any]] = []
        after: str | None = None
        while True:
            data = await self._query(
                SUBSCRIPTIONS_QUERY,
                {"first": SUBSCRIPTIONS_PAGE, "after": after},
                "webhookSubscriptions",
            )
            nodes, after = _connection(data.get("webhookSubscriptions"), "webhookSubscriptions")
            subscriptions += nodes
            if after is None:
                break
        ours = [s for s in subscriptions if str(s.get("uri") or "").endswith(target.path)]
        problems: list[str] = []
        repairs: list[str] = []
        for topic, enum in TOPICS.items():
            mine = [s for s in ours if s.get("topic") == enum]
            if any(s.get("format") == "JSON" for s in mine):
                continue
            if mine:  # an XML one: our endpoint takes JSON, and a second is refused
                problems.append(f"{topic}: subscribed in {mine[0].get('format')}, not JSON")
            elif target.callback_url is None:
                problems.append(
                    f"{topic}: no subscription; not created because "
                    "DROPSHIP_WEBHOOK_BASE_URL is unset"
                )
            else:
                try:
                    repairs.append(await self._create(topic, enum, target.callback_url))
                except StorefrontRejected as exc:
                    problems.append(f"{topic}: could not be created: {exc}")
        return summarise(problems, repairs)

    async def _create(self, topic: str, enum: str, url: str) -> str:
        data = await self.admin.execute(
            SUBSCRIPTION_CREATE,
            {"topic": enum, "webhookSubscription": {"uri": url, "format": "JSON"}},
            what="webhookSubscriptionCreate",
            read_only=False,
        )
        result = data.get("webhookSubscriptionCreate") or {}
        errors = result.get("userErrors") or []
        if errors:
            raise StorefrontRejected(
                "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
            )
        created = (result.get("webhookSubscription") or {}).get("id")
        return f"{topic}: subscription was missing, created ({created})"
