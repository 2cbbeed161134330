"""Shopify: fulfilments through the Admin GraphQL API.

The order's fulfillment orders are read first (paged: fulfillment orders beyond the first
page, line items beyond a fulfillment order's first page), then ``fulfillmentCreate``
fulfils the covered lines with the tracking company, number(s) and URL(s). Reading first
makes every attempt safe to repeat: a line whose ``remainingQuantity`` is 0 is not
fulfilled again. When nothing is left to fulfil, the fulfilments of the order's
fulfillment orders are read (paged too) to tell an earlier attempt of ours (it carries
our tracking number) from lines fulfilled elsewhere.

Every query stays well under Shopify's single-query limit of 1,000 points as Shopify
computes the requested cost (connections cost 2 + ``first`` times the node, nested
connections multiply: https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits);
the page sizes below are chosen for that, and ``tests/unit/test_shopify_query_cost.py``
checks each query with the fake's calculator. Calls go through
:class:`order_intake.storefronts.shopify_admin.AdminClient` (versioned path, pacing by
``extensions.cost``, ``THROTTLED`` waits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from order_intake.credits import shopify as credits
from order_intake.credits import shopify_payment
from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRequest,
    FulfilmentPlugin,
    FulfilmentRequest,
    MilestoneRequest,
    Outcome,
    ShipmentLine,
    StorefrontRejected,
)
from order_intake.fulfilment.shopify_events import send_milestone
from order_intake.storefronts.shopify_admin import AdminClient, throttle_wait

__all__ = ["QUERIES", "ShopifyFulfilment", "throttle_wait"]

MAX_INPUT_ARRAY = 250  # https://shopify.dev/docs/api/usage/limits: input limits
# fulfillment order states that accept a fulfilment
FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})

# requested cost: 1 + 2 + 5 * (1 + 1 + 1 + 2 + 25 * 2) = 278
FULFILLMENT_ORDERS_QUERY = """
query FulfillmentOrdersForFulfilment($id: ID!, $after: String) {
  order(id: $id) {
    fulfillmentOrders(first: 5, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        status
        assignedLocation { location { id } }
        lineItems(first: 25) {
          pageInfo { hasNextPage endCursor }
          nodes { id remainingQuantity lineItem { id } }
        }
      }
    }
  }
}
""".strip()

# one fulfillment order's line items beyond the first page: 1 + 2 + 100 * 2 = 203
MORE_LINE_ITEMS_QUERY = """
query FulfillmentOrderLineItems($id: ID!, $after: String) {
  fulfillmentOrder(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id remainingQuantity lineItem { id } }
    }
  }
}
""".strip()

# the fulfilments of one fulfillment order with their first tracking numbers:
# 1 + 2 + 25 * (1 + 10) = 278
FULFILLMENTS_QUERY = """
query FulfillmentOrderFulfillments($id: ID!, $after: String) {
  fulfillmentOrder(id: $id) {
    fulfillments(first: 25, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id status trackingInfo(first: 10) { number } }
    }
  }
}
""".strip()
TRACKING_PAGE = 10

# every tracking number of a fulfilment that has more than TRACKING_PAGE: 1 + 250 = 251
ALL_TRACKING_QUERY = """
query FulfillmentTracking($id: ID!) {
  fulfillment(id: $id) { trackingInfo(first: 250) { number } }
}
""".strip()

# 10 + 1 + 1 = 12
FULFILLMENT_CREATE = """
mutation FulfilmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id }
    userErrors { field message }
  }
}
""".strip()

QUERIES = (
    FULFILLMENT_ORDERS_QUERY,
    MORE_LINE_ITEMS_QUERY,
    FULFILLMENTS_QUERY,
    ALL_TRACKING_QUERY,
    FULFILLMENT_CREATE,
)


def order_gid(external_id: str) -> str:
    return external_id if external_id.startswith("gid://") else f"gid://shopify/Order/{external_id}"


def line_item_gid(external_id: str) -> str:
    if external_id.startswith("gid://"):
        return external_id
    return f"gid://shopify/LineItem/{external_id}"


@dataclass(frozen=True)
class OpenItem:
    fulfillment_order_id: str
    location_id: str | None
    item_id: str  # the fulfillment order line item
    line_item_id: str
    remaining: int


def open_items(order: Mapping[str, Any]) -> list[OpenItem]:
    """The fulfillment order line items still to fulfil, of fulfillable orders."""
    items: list[OpenItem] = []
    for fo in order.get("fulfillmentOrders", {}).get("nodes", []):
        if fo.get("status") not in FULFILLABLE:
            continue
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        for node in fo.get("lineItems", {}).get("nodes", []):
            if int(node.get("remainingQuantity") or 0) > 0:
                items.append(
                    OpenItem(
                        fo["id"],
                        location,
                        node["id"],
                        node["lineItem"]["id"],
                        int(node["remainingQuantity"]),
                    )
                )
    return items


def existing_fulfilment(order: Mapping[str, Any], numbers: Iterable[str]) -> str | None:
    """The id of a (not cancelled) fulfilment that carries one of ``numbers``."""
    wanted = {n.upper() for n in numbers}
    for f in order.get("fulfillments") or []:
        if f.get("status") == "CANCELLED":
            continue
        for info in f.get("trackingInfo") or []:
            if str(info.get("number") or "").upper() in wanted:
                return str(f["id"])
    return None


def plan(
    items: Sequence[OpenItem], lines: Iterable[ShipmentLine]
) -> dict[str | None, list[dict[str, Any]]]:
    """``lineItemsByFulfillmentOrder`` per location (one ``fulfillmentCreate`` may only
    take fulfillment orders of one location): each covered line up to its quantity."""
    want: dict[str, int] = {}
    for line in lines:
        if line.external_id:
            gid = line_item_gid(line.external_id)
            want[gid] = want.get(gid, 0) + line.quantity
    by_location: dict[str | None, dict[str, list[dict[str, Any]]]] = {}
    for item in items:
        left = want.get(item.line_item_id, 0)
        if left <= 0:
            continue
        quantity = min(left, item.remaining)
        want[item.line_item_id] = left - quantity
        orders = by_location.setdefault(item.location_id, {})
        orders.setdefault(item.fulfillment_order_id, []).append(
            {"id": item.item_id, "quantity": quantity}
        )
    return {
        location: [
            {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": fo_items}
            for fo_id, fo_items in orders.items()
        ]
        for location, orders in by_location.items()
    }


def batches(by_fulfillment_order: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One location's ``lineItemsByFulfillmentOrder`` cut to Shopify's input limit (no
    input array over 250 items): more than one ``fulfillmentCreate`` only for an order
    with more than 250 lines to fulfil at one location."""
    chunked = [
        [
            {**entry, "fulfillmentOrderLineItems": items[i : i + MAX_INPUT_ARRAY]}
            for i in range(0, len(items), MAX_INPUT_ARRAY)
        ]
        for entry in by_fulfillment_order
        for items in [entry["fulfillmentOrderLineItems"]]
    ]
    found: list[list[dict[str, Any]]] = []
    for turn in range(max((len(c) for c in chunked), default=0)):
        entries = [c[turn] for c in chunked if turn < len(c)]
        found.extend(
            entries[i : i + MAX_INPUT_ARRAY] for i in range(0, len(entries), MAX_INPUT_ARRAY)
        )
    return found


def tracking_info(carrier: str, numbers: Sequence[str], urls: Sequence[str]) -> dict[str, Any]:
    """``FulfillmentTrackingInput``: ``number``/``url`` for one parcel, the plural
    fields for several."""
    if len(numbers) == 1:
        return {"company": carrier, "number": numbers[0], "url": urls[0]}
    return {"company": carrier, "numbers": list(numbers), "urls": list(urls)}


def fulfillment_input(
    request: FulfilmentRequest, by_fulfillment_order: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "lineItemsByFulfillmentOrder": by_fulfillment_order,
        "trackingInfo": tracking_info(
            request.carrier, request.tracking_numbers, request.tracking_urls
        ),
        # the buyer gets our own "shipped" message, in the shop's language
        "notifyCustomer": False,
    }


class ShopifyFulfilment(FulfilmentPlugin):
    platform: ClassVar[str] = "shopify"

    def admin(self) -> AdminClient:
        return AdminClient(
            self.client,
            shop_key=str(self.shop.shop_id),
            access_token=self.credential("access_token"),
            api_version=self.settings.shopify_api_version,
        )

    async def refund(self, request: CreditRequest) -> CreditOutcome:
        return await credits.refund(self.admin(), order_gid(request.order_external_id), request)

    async def discount(self, request: CreditRequest) -> CreditOutcome:
        return await credits.discount(self.admin(), request)

    async def payment_link(self, request: CreditRequest) -> CreditOutcome:
        return await shopify_payment.payment_link(self.admin(), request)

    async def payment_paid(self, request: CreditRequest) -> CreditOutcome:
        return await shopify_payment.payment_paid(self.admin(), request)

    async def fulfil(self, request: FulfilmentRequest) -> Outcome:
        admin = self.admin()
        fulfillment_orders = await read_fulfillment_orders(
            admin, order_gid(request.order_external_id)
        )
        if fulfillment_orders is None:
            raise StorefrontRejected(f"order {request.order_external_id} not found at Shopify")
        order = {"fulfillmentOrders": {"nodes": fulfillment_orders}}
        plans = plan(open_items(order), request.lines)
        if not plans:
            fulfillments = await read_fulfillments(admin, [fo["id"] for fo in fulfillment_orders])
            done = existing_fulfilment({"fulfillments": fulfillments}, request.tracking_numbers)
            if done is not None:
                return Outcome("existing", done)
            return Outcome("nothing_to_do", detail="the lines are fulfilled at Shopify already")
        created: list[str] = []
        for by_fulfillment_order in (b for p in plans.values() for b in batches(p)):
            data = await admin.execute(
                FULFILLMENT_CREATE,
                {"fulfillment": fulfillment_input(request, by_fulfillment_order)},
                what="fulfillmentCreate",
                read_only=False,
            )
            result = data.get("fulfillmentCreate") or {}
            user_errors = result.get("userErrors") or []
            if user_errors:
                raise StorefrontRejected(
                    "fulfillmentCreate: "
                    + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in user_errors)
                )
            fulfillment = result.get("fulfillment") or {}
            created.append(str(fulfillment.get("id")))
        return Outcome("created", ",".join(created))

    async def milestone(self, request: MilestoneRequest) -> Outcome:
        return await send_milestone(self.admin(), request, self.settings.shopify_api_version)


def _page_info(connection: Mapping[str, Any]) -> str | None:
    """The cursor of the next page, or None on the last one."""
    info = connection.get("pageInfo") or {}
    return str(info["endCursor"]) if info.get("hasNextPage") and info.get("endCursor") else None


async def read_fulfillment_orders(admin: AdminClient, order_id: str) -> list[dict[str, Any]] | None:
    """Every fulfillment order of the order with every line item (None: no such order)."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await admin.execute(
            FULFILLMENT_ORDERS_QUERY,
            {"id": order_id, "after": after},
            what="fulfillmentOrders",
            read_only=True,
        )
        order = data.get("order")
        if not isinstance(order, dict):
            return None
        connection = order.get("fulfillmentOrders") or {}
        for fo in connection.get("nodes") or []:
            items = fo.get("lineItems") or {}
            nodes = list(items.get("nodes") or [])
            more = _page_info(items)
            while more is not None:
                page = await admin.execute(
                    MORE_LINE_ITEMS_QUERY,
                    {"id": fo["id"], "after": more},
                    what="fulfillmentOrder lineItems",
                    read_only=True,
                )
                items = (page.get("fulfillmentOrder") or {}).get("lineItems") or {}
                nodes.extend(items.get("nodes") or [])
                more = _page_info(items)
            found.append({**fo, "lineItems": {"nodes": nodes}})
        after = _page_info(connection)
        if after is None:
            return found


async def read_fulfillments(
    admin: AdminClient, fulfillment_order_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """The fulfilments of these fulfillment orders, each with all its tracking numbers."""
    seen: dict[str, dict[str, Any]] = {}
    for fo_id in fulfillment_order_ids:
        after: str | None = None
        while True:
            data = await admin.execute(
                FULFILLMENTS_QUERY,
                {"id": fo_id, "after": after},
                what="fulfillments",
                read_only=True,
            )
            connection = (data.get("fulfillmentOrder") or {}).get("fulfillments") or {}
            for f in connection.get("nodes") or []:
                if f["id"] not in seen:
                    seen[f["id"]] = f
            after = _page_info(connection)
            if after is None:
                break
    for f in seen.values():
        if len(f.get("trackingInfo") or []) >= TRACKING_PAGE:
            data = await admin.execute(
                ALL_TRACKING_QUERY, {"id": f["id"]}, what="fulfillment tracking", read_only=True
            )
            f["trackingInfo"] = (data.get("fulfillment") or {}).get("trackingInfo") or []
    return list(seen.values())
