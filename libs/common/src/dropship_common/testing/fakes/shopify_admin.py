"""A fake Shopify Admin GraphQL API (``POST /admin/api/<version>/graphql.json``) for one
shop, with what order-intake's fulfilment write-back uses:

* the ``X-Shopify-Access-Token`` header, 401 with Shopify's text when it is wrong;
* ``order(id:)`` with its ``fulfillmentOrders`` (line items with ``remainingQuantity``)
  and ``fulfillments`` (``trackingInfo``);
* ``fulfillmentCreate(fulfillment: FulfillmentInput!)``: ``lineItemsByFulfillmentOrder``
  checked against the remaining quantities, one location per call, fulfillment orders
  closed when nothing remains, ``userErrors`` as Shopify words them;
* for reconciliation, ``orders``, ``order(id:)`` with the fields the intake reads,
  ``webhookSubscriptions`` and ``webhookSubscriptionCreate``, answered from
  :class:`~dropship_common.testing.fakes.shopify_orders.ShopData` (``shop``; its rules
  are listed there);
* calculated query cost with a leaky bucket (``maximumAvailable``, ``restoreRate``) and
  the ``THROTTLED`` answer when a query costs more than is available, with
  ``extensions.cost`` on every answer.

It is no GraphQL engine: the operation is recognised by the field it selects, and the
answer has the shape order-intake asks for. Faults can be queued per operation
(``"query"`` / ``"mutation"``): ``"http_500"``, ``"http_429"``, ``"throttled"``,
``"drop_response"`` (do the work, then lose the answer; see FakeNetwork) and
``"slow:<seconds>"`` (do the work, then answer late; for a real port).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dropship_common.testing.fakes.network import DROP_RESPONSE_HEADER
from dropship_common.testing.fakes.shopify_orders import GraphQLError, ShopData

QUERY_COST = 12
MUTATION_COST = 10


@dataclass
class _Item:
    id: str
    line_item_id: str
    quantity: int
    remaining: int


@dataclass
class _FulfillmentOrder:
    id: str
    location_id: str
    status: str = "OPEN"
    items: list[_Item] = field(default_factory=list)


@dataclass
class _Order:
    id: str
    fulfillment_orders: list[_FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)


class FakeShopifyAdmin:
    def __init__(
        self,
        access_token: str,
        *,
        maximum_available: float = 1000.0,
        restore_rate: float = 50.0,
    ) -> None:
        self.access_token = access_token
        self.maximum_available = maximum_available
        self.restore_rate = restore_rate
        self._available = maximum_available
        self._updated = time.monotonic()
        self.orders: dict[str, _Order] = {}
        self.faults: dict[str, deque[str]] = {"query": deque(), "mutation": deque()}
        self.calls: list[dict[str, Any]] = []  # every authenticated call: operation, variables
        self.throttled = 0
        self.shop = ShopData()  # orders and webhook subscriptions, for reconciliation
        self._ids = 1000
        self.app = self._make_app()

    # --- set-up and inspection ---------------------------------------------------------
    def _next(self, kind: str) -> str:
        self._ids += 1
        return f"gid://shopify/{kind}/{self._ids}"

    def add_order(
        self,
        order_id: int | str,
        line_items: dict[int | str, int],
        *,
        locations: dict[int | str, str] | None = None,
    ) -> None:
        """``line_items``: line item id -> quantity. ``locations``: line item id -> location
        id (default: one location); one fulfillment order per location."""
        order = _Order(id=f"gid://shopify/Order/{order_id}")
        by_location: dict[str, _FulfillmentOrder] = {}
        for line_id, quantity in line_items.items():
            location = (locations or {}).get(line_id, "gid://shopify/Location/1")
            fo = by_location.get(location)
            if fo is None:
                fo = by_location[location] = _FulfillmentOrder(
                    self._next("FulfillmentOrder"), location
                )
                order.fulfillment_orders.append(fo)
            fo.items.append(
                _Item(
                    self._next("FulfillmentOrderLineItem"),
                    f"gid://shopify/LineItem/{line_id}",
                    quantity,
                    quantity,
                )
            )
        self.orders[order.id] = order

    def fulfillments(self, order_id: int | str) -> list[dict[str, Any]]:
        return self.orders[f"gid://shopify/Order/{order_id}"].fulfillments

    def fail_next(self, operation: str, *faults: str) -> None:
        self.faults[operation].extend(faults)

    def operations(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["operation"] == name]

    # --- cost -------------------------------------------------------------------------
    def _refill(self) -> None:
        now = time.monotonic()
        self._available = min(
            self.maximum_available, self._available + (now - self._updated) * self.restore_rate
        )
        self._updated = now

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": {
                    "maximumAvailable": self.maximum_available,
                    "currentlyAvailable": round(self._available, 1),
                    "restoreRate": self.restore_rate,
                },
            }
        }

    def _throttled_answer(self, requested: int) -> JSONResponse:
        self.throttled += 1
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": self._cost(requested, None),
            }
        )

    # --- the API ----------------------------------------------------------------------
    def _make_app(self) -> FastAPI:
        app = FastAPI(title="fake Shopify Admin GraphQL")

        @app.post("/admin/api/{version}/graphql.json")
        async def graphql(version: str, request: Request) -> JSONResponse:
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return JSONResponse(
                    {
                        "errors": "[API] Invalid API key or access token (unrecognized login or "
                        "wrong password)"
                    },
                    status_code=401,
                )
            body = await request.json()
            query = str(body.get("query") or "")
            variables = body.get("variables") or {}
            reconciling = _shop_data_operation(query)
            if reconciling is not None:
                return self._shop_data(reconciling, version, variables)
            mutation = "fulfillmentCreate" in query
            operation = "mutation" if mutation else "query"
            self.calls.append(
                {
                    "operation": "fulfillmentCreate" if mutation else "order",
                    "version": version,
                    "variables": variables,
                }
            )
            requested = MUTATION_COST if mutation else QUERY_COST
            fault = self.faults[operation].popleft() if self.faults[operation] else None
            if fault == "http_500":
                return JSONResponse({"errors": "Internal Server Error"}, status_code=500)
            if fault == "http_429":
                return JSONResponse(
                    {"errors": "Exceeded 2 calls per second for api client."},
                    status_code=429,
                    headers={"Retry-After": "1.0"},
                )
            self._refill()
            if fault == "throttled":
                self._available = min(self._available, requested / 2)
            if self._available < requested:
                return self._throttled_answer(requested)
            self._available -= requested
            data = self._fulfillment_create(variables) if mutation else self._order(variables)
            headers = {}
            if fault == "drop_response":
                headers[DROP_RESPONSE_HEADER] = "1"
            elif fault and fault.startswith("slow:"):
                await asyncio.sleep(float(fault.split(":", 1)[1]))
            return JSONResponse(
                {"data": data, "extensions": self._cost(requested, requested)}, headers=headers
            )

        return app

    def _shop_data(self, name: str, version: str, variables: dict[str, Any]) -> JSONResponse:
        """The operations of reconciliation and the subscription check (:class:`ShopData`)."""
        self.calls.append({"operation": name, "version": version, "variables": variables})
        mutation = name == "webhookSubscriptionCreate"
        requested = MUTATION_COST if mutation else QUERY_COST
        self._refill()
        if self._available < requested:
            return self._throttled_answer(requested)
        self._available -= requested
        resolve = {
            "orders": self.shop.orders_connection,
            "orderForIntake": self.shop.order,
            "webhookSubscriptions": self.shop.webhook_subscriptions,
            "webhookSubscriptionCreate": self.shop.webhook_subscription_create,
        }[name]
        try:
            data = resolve(variables)
        except GraphQLError as exc:
            return JSONResponse(
                {"errors": [{"message": str(exc)}], "extensions": self._cost(requested, None)}
            )
        return JSONResponse({"data": data, "extensions": self._cost(requested, requested)})

    def _order(self, variables: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(str(variables.get("id")))
        if order is None:
            return {"order": None}
        return {
            "order": {
                "id": order.id,
                "fulfillmentOrders": {
                    "nodes": [
                        {
                            "id": fo.id,
                            "status": fo.status,
                            "assignedLocation": {"location": {"id": fo.location_id}},
                            "lineItems": {
                                "nodes": [
                                    {
                                        "id": item.id,
                                        "remainingQuantity": item.remaining,
                                        "lineItem": {"id": item.line_item_id},
                                    }
                                    for item in fo.items
                                ]
                            },
                        }
                        for fo in order.fulfillment_orders
                    ]
                },
                "fulfillments": [
                    {k: f[k] for k in ("id", "status", "trackingInfo")} for f in order.fulfillments
                ],
            }
        }

    def _fulfillment_create(self, variables: dict[str, Any]) -> dict[str, Any]:
        def error(message: str, *path: str) -> dict[str, Any]:
            return {
                "fulfillmentCreate": {
                    "fulfillment": None,
                    "userErrors": [{"field": ["fulfillment", *path], "message": message}],
                }
            }

        data = variables.get("fulfillment") or {}
        pairs = data.get("lineItemsByFulfillmentOrder") or []
        if not pairs:
            return error(
                "Line items by fulfillment order must be present.", "lineItemsByFulfillmentOrder"
            )
        fos = {
            fo.id: (order, fo) for order in self.orders.values() for fo in order.fulfillment_orders
        }
        chosen: list[tuple[_FulfillmentOrder, list[tuple[_Item, int]]]] = []
        orders: set[str] = set()
        for pair in pairs:
            found = fos.get(str(pair.get("fulfillmentOrderId")))
            if found is None:
                return error("Fulfillment order does not exist.", "lineItemsByFulfillmentOrder")
            order, fo = found
            orders.add(order.id)
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                return error(
                    f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}."
                )
            items = {item.id: item for item in fo.items}
            wanted = pair.get("fulfillmentOrderLineItems")
            picked: list[tuple[_Item, int]] = []
            if wanted is None:
                picked = [(item, item.remaining) for item in fo.items if item.remaining > 0]
            for w in wanted or []:
                item = items.get(str(w.get("id")))
                quantity = int(w.get("quantity") or 0)
                if item is None or quantity <= 0 or quantity > item.remaining:
                    return error("Invalid fulfillment order line item quantity requested.")
                picked.append((item, quantity))
            chosen.append((fo, picked))
        if len(orders) > 1 or len({fo.location_id for fo, _ in chosen}) > 1:
            return error("All fulfillment orders must belong to the same order and location.")
        tracking = data.get("trackingInfo") or {}
        numbers = tracking.get("numbers") or (
            [tracking["number"]] if tracking.get("number") else []
        )
        urls = tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else [])
        for fo, picked in chosen:
            for item, quantity in picked:
                item.remaining -= quantity
            fo.status = "CLOSED" if all(i.remaining == 0 for i in fo.items) else "IN_PROGRESS"
        fulfillment = {
            "id": self._next("Fulfillment"),
            "status": "SUCCESS",
            "notifyCustomer": bool(data.get("notifyCustomer")),
            "trackingInfo": [
                {
                    "company": tracking.get("company"),
                    "number": n,
                    "url": urls[i] if i < len(urls) else None,
                }
                for i, n in enumerate(numbers)
            ],
            "lineItems": [
                {
                    "fulfillmentOrderLineItemId": item.id,
                    "lineItemId": item.line_item_id,
                    "quantity": quantity,
                }
                for _, picked in chosen
                for item, quantity in picked
            ],
        }
        self.orders[orders.pop()].fulfillments.append(fulfillment)
        public = {k: fulfillment[k] for k in ("id", "status", "trackingInfo")}
        return {"fulfillmentCreate": {"fulfillment": public, "userErrors": []}}


def _shop_data_operation(query: str) -> str | None:
    """Which :class:`ShopData` operation a query is, by the field it selects."""
    if "webhookSubscriptionCreate" in query:
        return "webhookSubscriptionCreate"
    if "webhookSubscriptions" in query:
        return "webhookSubscriptions"
    if "orders(" in query:
        return "orders"
    if "order(" in query and "fulfillmentOrders" not in query:
        return "orderForIntake"
    return None
