"""A fake Shopify Admin GraphQL API (``POST /admin/api/<version>/graphql.json``) for one
shop, as strict as Shopify's documentation for what order-intake uses.

Documented rules it enforces:

* Authentication: the ``X-Shopify-Access-Token`` header; a wrong one gets 401 with
  Shopify's text (https://shopify.dev/docs/api/admin-graphql#authentication).
* Versions: the version in the path is served when supported; an unsupported one is
  served by the oldest supported stable version, and every answer names the version
  served in ``X-Shopify-API-Version``
  (https://shopify.dev/docs/api/usage/versioning). ``supported_versions`` is
  configurable.
* Calculated query cost (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
  #cost-calculation): the requested cost is computed from the parsed query before it
  runs (:mod:`dropship_testkit.fakes.shopify_cost`: objects 1, scalars 0,
  connections sized by ``first``/``last``, nested connections multiply, mutations 10),
  the actual cost from what was returned; "the bucket is refunded the difference
  between the requested cost and the actual cost".
* Single query limit (https://shopify.dev/docs/api/usage/limits): a query whose
  requested cost is over 1,000 points is refused before it runs with
  ``MAX_COST_EXCEEDED`` (``extensions.cost`` / ``maxCost`` on the error).
* Leaky bucket per app and shop
  (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): a query runs only
  when the bucket holds its requested cost, else ``THROTTLED`` (HTTP 200); the bucket
  refills at the plan's restore rate up to its size (``plan=``: ``PLANS``, the restore
  rates of the current page: 100 / 200 / 1,000 / 2,000 points a second; the bucket
  sizes, not published, as live answers show them).
* Input limits (https://shopify.dev/docs/api/usage/limits): an input array (in the
  variables) of more than 250 items is refused (``MAX_INPUT_SIZE_EXCEEDED``).
* ``extensions.cost`` (``requestedQueryCost``, ``actualQueryCost``, ``throttleStatus``:
  ``maximumAvailable``, ``currentlyAvailable``, ``restoreRate``) on every answer
  (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
* Connections page by ``first``/``last`` with ``after``/``before`` cursors and
  ``pageInfo`` (https://shopify.dev/docs/api/usage/pagination-graphql); a connection
  without ``first`` or ``last`` is an error; a field the fake's objects do not have is
  ``undefinedField``.
* Connections take at most 250 objects: ``first``/``last`` over 250 is an error
  (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits: "Input
  arguments that accept an array have a maximum size of 250"; connections page by 250 at
  most, https://shopify.dev/docs/api/usage/pagination-graphql).
* For reconciliation: ``orders(first:, after:, query:, sortKey:)``, ``order(id:)`` with
  the fields of the order itself (``legacyResourceId``, money bags, addresses, customer,
  ``lineItems``, ``shippingLines``), ``webhookSubscriptions`` and
  ``webhookSubscriptionCreate(topic:, webhookSubscription:)``, from :attr:`shop`
  (:class:`~dropship_testkit.fakes.shopify_orders.ShopData`, whose docstring lists
  the rules of the search syntax and of subscriptions).
* ``fulfillmentEventCreate(fulfillmentEvent: FulfillmentEventInput!)``
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentEventCreate):
  the fulfilment must exist (else the ``userErrors`` "Fulfillment does not exist."), the
  ``status`` one of ``FulfillmentEventStatus`` of the version served (``DELAYED`` only
  from 2025-07, https://shopify.dev/docs/api/admin-graphql/2025-07/enums/
  FulfillmentEventStatus; another value is a variable error); events are read back as
  ``fulfillment(id:) { events(first:) { nodes } }``.
* ``fulfillmentCreate(fulfillment: FulfillmentInput!)``: ``lineItemsByFulfillmentOrder``
  checked against the remaining quantities, one order and location per call, fulfillment
  orders closed when nothing remains, ``userErrors`` as Shopify words them
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate).

* Refunds (https://shopify.dev/docs/api/admin-graphql/latest/mutations/refundCreate):
  ``order(id:) { suggestedRefund(suggestFullRefund: true) }`` answers what is still
  refundable (the order's ``paid`` less its refunds) and the payment transaction a
  refund goes back through (``gateway``, ``parentTransaction``); ``refundCreate(input:)``
  takes ``transactions`` whose ``parentId`` is the order's payment and whose amounts
  are not more than is refundable (else ``userErrors``), and lists the refund in
  ``order.refunds`` / ``totalRefundedSet``. The ``@idempotent(key:)`` directive
  (https://shopify.dev/docs/api/usage/idempotent-requests): a key seen before returns
  "the result of the original operation instead of creating a new one"; from version
  2026-04 a ``refundCreate`` without it is an error at runtime ("calling these
  mutations without an idempotency directive will result in an error at runtime",
  https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations).
* Discount codes (https://shopify.dev/docs/api/admin-graphql/latest/mutations/
  discountCodeBasicCreate): ``code``, ``title`` and ``context`` are required when
  creating (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/
  DiscountCodeBasicInput; ``context`` the buyers: ``all`` or ``customers.add``), a code
  already used by another discount is refused
  (``userErrors`` code ``TAKEN``); ``codeDiscountNodeByCode(code:)`` finds one. The
  mutation has no idempotency key.
* Draft orders (https://shopify.dev/docs/api/admin-graphql/latest/mutations/
  draftOrderCreate): ``draftOrderCreate(input:)`` needs at least one line item ("Each
  draft order must include at least one line item",
  https://shopify.dev/docs/api/admin-graphql/latest/input-objects/DraftOrderInput); a
  custom line item (no ``variantId``) has a ``title``, a ``quantity`` (``Int!``) and
  its price, ``originalUnitPriceWithCurrency`` (a ``MoneyInput`` in the draft's
  presentment currency: "All presentment currencies for a single draft should be the
  same and match the presentment currency of the draft order") or the older
  ``originalUnitPrice``
  (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/
  DraftOrderLineItemInput); the draft order has an ``invoiceUrl`` and ``status``
  ``OPEN`` (https://shopify.dev/docs/api/admin-graphql/latest/enums/DraftOrderStatus:
  ``OPEN``, ``INVOICE_SENT``, ``COMPLETED`` "the draft order has been paid"), read back
  with ``draftOrder(id:)`` and ``draftOrders(first:, query: "tag:…")`` (``tag`` is one
  of the documented filters, https://shopify.dev/docs/api/admin-graphql/latest/queries/
  draftOrders; the fake knows no other). :meth:`FakeShopifyAdmin.pay_draft_order`
  completes one with an order ``PAID`` (or ``PENDING``: completed with the payment
  pending). No idempotency key.

The operation is recognised by the root fields of the parsed document: ``order(id:)``,
``orders``, ``webhookSubscriptions``, ``fulfillmentOrder(id:)``, ``fulfillment(id:)``,
``draftOrder(id:)``, ``draftOrders`` and the mutations named above.
The answer is the query's selection projected over the fake's objects (aliases,
fragments and variables honoured). Faults can be queued per operation type (``"query"``
/ ``"mutation"``) or per root field (``"refundCreate"``): ``"http_500"``, ``"http_429"``,
``"throttled"`` (the bucket holds half of the query's cost), ``"drop_response"`` (do the
work, then lose the answer; see FakeNetwork) and ``"slow:<seconds>"`` (do the work,
then answer late; for a real port).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from graphql import FieldNode

from dropship_testkit.fakes.network import DROP_RESPONSE_HEADER
from dropship_testkit.fakes.shopify_cost import (
    CONNECTION_COST,
    MAX_QUERY_COST,
    MUTATION_COST,
    Operation,
    QueryError,
    all_fields,
    page_size,
    parse_operation,
    requested_cost,
    response_key,
)
from dropship_testkit.fakes.shopify_orders import ShopData

RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
MAX_INPUT_ARRAY = 250  # https://shopify.dev/docs/api/usage/limits: input limits
# plan -> (bucket size, restore rate per second). The restore rates are the current
# page's (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits). Bucket
# sizes are not published: live answers show 20 times the restore rate (standard
# 2,000 / 100, Plus 20,000 / 1,000), taken for every plan.
PLANS: dict[str, tuple[float, float]] = {
    "standard": (2_000.0, 100.0),
    "advanced": (4_000.0, 200.0),
    "plus": (20_000.0, 1_000.0),
    "enterprise": (40_000.0, 2_000.0),
}
# the stable versions Shopify supports on 2026-12 (each for at least 12 months)
SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")


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
    paid: Decimal = Decimal("0")  # what the buyer paid (one payment transaction)
    currency: str = "USD"
    payment_id: str = ""
    refunds: list[dict[str, Any]] = field(default_factory=list)  # {id, note, amount}

    @property
    def refunded(self) -> Decimal:
        return sum((Decimal(r["amount"]) for r in self.refunds), Decimal(0))


class Connection(list[Any]):
    """A field that is a connection (paged by cursors), not a plain list."""


class _Refused(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer


def _undefined(field_node: FieldNode, type_name: str) -> _Refused:
    name = field_node.name.value
    return _Refused(
        {
            "message": f"Field '{name}' doesn't exist on type '{type_name}'",
            "extensions": {"code": "undefinedField", "typeName": type_name, "fieldName": name},
        }
    )


class FakeShopifyAdmin:
    def __init__(
        self,
        access_token: str,
        *,
        plan: str = "standard",
        maximum_available: float | None = None,
        restore_rate: float | None = None,
        supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access_token = access_token
        size, rate = PLANS[plan]
        self.maximum_available = maximum_available if maximum_available is not None else size
        self.restore_rate = restore_rate if restore_rate is not None else rate
        self.supported_versions = tuple(sorted(supported_versions))
        self.clock = clock
        self._available = self.maximum_available
        self._updated = clock()
        self.orders: dict[str, _Order] = {}
        self.shop = ShopData()  # orders as the intake reads them, webhook subscriptions
        self.faults: dict[str, deque[str]] = {"query": deque(), "mutation": deque()}
        # every authenticated call: operation (first root field), version asked and
        # served, variables, requested and actual cost
        self.calls: list[dict[str, Any]] = []
        self.throttled = 0
        self.refused = 0  # MAX_COST_EXCEEDED
        self._ids = 1000
        self.idempotency: dict[str, dict[str, Any]] = {}  # @idempotent key -> payload
        self.discounts: dict[str, dict[str, Any]] = {}  # code -> the discount's input
        self.draft_orders: dict[str, dict[str, Any]] = {}  # gid -> the draft order
        self.app = self._make_app()

    # --- set-up and inspection ---------------------------------------------------------
    def pay_draft_order(self, draft_id: str, *, pending: bool = False) -> str:
        """The buyer paid the draft order's invoice (or, ``pending``, the merchant
        completed it with the payment still pending): it is ``COMPLETED`` with an order
        ``PAID`` (``PENDING``). The order's id."""
        draft = self.draft_orders[draft_id]
        order = {"__typename": "Order", "id": self._next("Order"),
                 "displayFinancialStatus": "PENDING" if pending else "PAID"}  # fmt: skip
        draft.update(status="COMPLETED", order=order)
        return str(order["id"])

    def _next(self, kind: str) -> str:
        self._ids += 1
        return f"gid://shopify/{kind}/{self._ids}"

    def add_order(
        self,
        order_id: int | str,
        line_items: dict[int | str, int],
        *,
        locations: dict[int | str, str] | None = None,
        paid: Decimal | str = "0",
        currency: str = "USD",
    ) -> None:
        """``line_items``: line item id -> quantity. ``locations``: line item id -> location
        id (default: one location); one fulfillment order per location. ``paid``: the
        order's one payment, what refunds can give back."""
        order = _Order(id=f"gid://shopify/Order/{order_id}", paid=Decimal(str(paid)),
                       currency=currency, payment_id=self._next("OrderTransaction"))  # fmt: skip
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

    def refunds(self, order_id: int | str) -> list[dict[str, Any]]:
        return self.orders[f"gid://shopify/Order/{order_id}"].refunds

    def fail_next(self, operation: str, *faults: str) -> None:
        """``operation``: ``"query"``, ``"mutation"``, or a root field's name (only that
        operation gets the fault: ``"refundCreate"``)."""
        self.faults.setdefault(operation, deque()).extend(faults)

    def operations(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["operation"] == name]

    def served_version(self, asked: str) -> str:
        """The version asked for when supported (or ``unstable``), else the oldest
        supported stable version."""
        if asked in self.supported_versions or asked == "unstable":
            return asked
        return self.supported_versions[0]

    # --- the bucket -------------------------------------------------------------------
    def _refill(self) -> None:
        now = self.clock()
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

    def _errors(
        self, errors: list[dict[str, Any]], requested: int, headers: dict[str, str]
    ) -> JSONResponse:
        return JSONResponse(
            {"errors": errors, "extensions": self._cost(requested, None)}, headers=headers
        )

    def _throttled_answer(self, requested: int, headers: dict[str, str]) -> JSONResponse:
        self.throttled += 1
        error = {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
        }
        return self._errors([error], requested, headers)

    def _too_costly(self, requested: int, headers: dict[str, str]) -> JSONResponse:
        self.refused += 1
        error = {
            "message": (
                f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits"
                " for more information on how the\ncost of a query is calculated.\n\nTo query "
                "larger amounts of data with fewer limits, bulk operations should be used "
                "instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-"
                "api for usage details.\n"
            ),
            # the shape of Shopify's live answers (the docs show none)
            "extensions": {
                "code": "MAX_COST_EXCEEDED",
                "cost": requested,
                "maxCost": MAX_QUERY_COST,
            },
        }
        return self._errors([error], requested, headers)

    # --- the API ----------------------------------------------------------------------
    def _make_app(self) -> FastAPI:
        app = FastAPI(title="fake Shopify Admin GraphQL")

        @app.post("/admin/api/{version}/graphql.json")
        async def graphql(version: str, request: Request) -> JSONResponse:
            served = self.served_version(version)
            headers = {"X-Shopify-API-Version": served}
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return JSONResponse(
                    {
                        "errors": "[API] Invalid API key or access token (unrecognized login or "
                        "wrong password)"
                    },
                    status_code=401,
                    headers=headers,
                )
            body = await request.json()
            variables = body.get("variables") or {}
            try:
                op = parse_operation(
                    str(body.get("query") or ""), variables, body.get("operationName")
                )
                requested = requested_cost(op)
            except QueryError as exc:
                return self._errors([{"message": str(exc)}], 0, headers)
            too_long = _longest_array(variables)
            if too_long > MAX_INPUT_ARRAY:
                error = {
                    "message": f"The input array size of {too_long} is greater than the "
                    f"maximum allowed of {MAX_INPUT_ARRAY}.",
                    "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
                }
                return self._errors([error], requested, headers)
            names = [f.name.value for f in op.root_fields]
            call = {
                "operation": names[0] if names else "",
                "version": version,
                "served": served,
                "variables": variables,
                "requested": requested,
                "actual": None,
            }
            self.calls.append(call)
            self._served = served
            named = self.faults.get(str(call["operation"]))  # a fault for this mutation only
            queue = named if named else self.faults[op.kind]
            fault = queue.popleft() if queue else None
            if fault == "http_500":
                return JSONResponse({"errors": "Internal Server Error"}, status_code=500)
            if fault == "http_429":
                return JSONResponse(
                    {"errors": "Exceeded 2 calls per second for api client."},
                    status_code=429,
                    headers={"Retry-After": "1.0", **headers},
                )
            if requested > MAX_QUERY_COST:
                return self._too_costly(requested, headers)
            self._refill()
            if fault == "throttled":
                self._available = min(self._available, requested / 2)
            if self._available < requested:
                return self._throttled_answer(requested, headers)
            self._available -= requested
            try:
                data, actual = self._execute(op)
            except _Refused as exc:
                self._available += requested  # nothing ran
                return self._errors([exc.answer], requested, headers)
            self._available = min(self.maximum_available, self._available + requested - actual)
            call["actual"] = actual
            if fault == "drop_response":
                headers[DROP_RESPONSE_HEADER] = "1"
            elif fault and fault.startswith("slow:"):
                await asyncio.sleep(float(fault.split(":", 1)[1]))
            return JSONResponse(
                {"data": data, "extensions": self._cost(requested, actual)}, headers=headers
            )

        return app

    # --- execution: the selection projected over the fake's objects ---------------------
    def _execute(self, op: Operation) -> tuple[dict[str, Any], int]:
        data: dict[str, Any] = {}
        cost = 0
        for root in op.root_fields:
            name = root.name.value
            if op.kind == "mutation":
                if name not in _PAYLOAD_SHAPES:
                    raise _undefined(root, "Mutation")
                self._project(_PAYLOAD_SHAPES[name], root, op)  # a bad selection: nothing runs
                payload = self._mutate(name, root, op)
                data[response_key(root)], inner = self._project(payload, root, op)
                cost += MUTATION_COST + inner
                continue
            if name in ("orders", "webhookSubscriptions", "draftOrders"):
                if name == "draftOrders":
                    found_all = self._drafts_matching(str(op.argument(root, "query") or ""))
                elif name == "orders":
                    found_all = self.shop.search(
                        op.argument(root, "query"), op.argument(root, "sortKey")
                    )
                else:
                    found_all = list(self.shop.subscriptions.values())
                items = Connection(_with_connections(o) for o in found_all)
                data[response_key(root)], inner = self._page(items, root, op)
                cost += inner
                continue
            resolver = {
                "order": self._order,
                "fulfillmentOrder": self._fulfillment_order_by_id,
                "fulfillment": self._fulfillment_by_id,
                "codeDiscountNodeByCode": self._discount_by_code,
                "draftOrder": self._draft_order,
            }.get(name)
            if resolver is None:
                raise _undefined(root, "QueryRoot")
            key = "code" if name == "codeDiscountNodeByCode" else "id"
            found = resolver(str(op.argument(root, key)))
            if found is None:
                data[response_key(root)] = None
                continue
            data[response_key(root)], inner = self._project(found, root, op)
            cost += 1 + inner
        return data, cost

    def _project(self, obj: Mapping[str, Any], at: FieldNode, op: Operation) -> tuple[Any, int]:
        """``obj`` as ``at``'s selection asks for it, and the actual cost of its fields."""
        out: dict[str, Any] = {}
        cost = 0
        for f in all_fields(at.selection_set, op):
            name, key = f.name.value, response_key(f)
            if name == "__typename":
                out[key] = obj["__typename"]
                continue
            if name not in obj:
                raise _undefined(f, str(obj["__typename"]))
            raw = obj[name]
            if f.selection_set is None:
                out[key] = raw
            elif isinstance(raw, Connection):
                out[key], inner = self._page(raw, f, op)
                cost += inner
            elif isinstance(raw, list):
                size = page_size(f, op)
                items = raw if size is None else raw[:size]
                projected = [self._project(item, f, op) for item in items]
                out[key] = [p for p, _ in projected]
                cost += sum(1 + c for _, c in projected)
            elif raw is None:
                out[key] = None
            else:
                out[key], inner = self._project(raw, f, op)
                cost += 1 + inner
        return out, cost

    def _page(self, items: Connection, at: FieldNode, op: Operation) -> tuple[Any, int]:
        size = page_size(at, op)
        if size is None:
            raise _Refused(
                {"message": f"you must provide one of first or last for {at.name.value}"}
            )
        if size > MAX_PAGE:
            raise _Refused({"message": f"{at.name.value}: first and last cannot exceed {MAX_PAGE}"})
        after, before = op.argument(at, "after"), op.argument(at, "before")
        start = _cursor_index(after) + 1 if after else 0
        stop = _cursor_index(before) if before else len(items)
        window = list(enumerate(items))[start:stop]
        window = window[:size] if op.argument(at, "first") is not None else window[-size:]
        out: dict[str, Any] = {}
        node_costs: list[int] = [0] * len(window)
        for part in all_fields(at.selection_set, op):
            key, name = response_key(part), part.name.value
            if name == "nodes":
                projected = [self._project(item, part, op) for _, item in window]
                out[key] = [p for p, _ in projected]
                pairs = zip(node_costs, projected, strict=True)
                node_costs = [max(a, 1 + c) for a, (_, c) in pairs]
            elif name == "edges":
                edges = []
                for n, (index, item) in enumerate(window):
                    edge: dict[str, Any] = {}
                    for e in all_fields(part.selection_set, op):
                        if e.name.value == "cursor":
                            edge[response_key(e)] = _cursor(index)
                        elif e.name.value == "node":
                            edge[response_key(e)], c = self._project(item, e, op)
                            node_costs[n] = max(node_costs[n], 1 + c)
                        else:
                            raise _undefined(e, "Edge")
                    edges.append(edge)
                out[key] = edges
            elif name == "pageInfo":
                first_index = window[0][0] if window else start
                last_index = window[-1][0] if window else start - 1
                info = {
                    "__typename": "PageInfo",
                    "hasNextPage": last_index + 1 < min(stop, len(items)),
                    "hasPreviousPage": first_index > 0,
                    "startCursor": _cursor(first_index) if window else None,
                    "endCursor": _cursor(last_index) if window else None,
                }
                out[key], _ = self._project(info, part, op)
            else:
                raise _undefined(part, "Connection")
        return out, CONNECTION_COST + sum(node_costs)

    # --- the objects ------------------------------------------------------------------
    def _fulfillment_order_object(self, fo: _FulfillmentOrder, order: _Order) -> dict[str, Any]:
        return {
            "__typename": "FulfillmentOrder",
            "id": fo.id,
            "status": fo.status,
            "orderId": order.id,
            "assignedLocation": {
                "__typename": "FulfillmentOrderAssignedLocation",
                "location": {"__typename": "Location", "id": fo.location_id},
            },
            "lineItems": Connection(
                {
                    "__typename": "FulfillmentOrderLineItem",
                    "id": item.id,
                    "totalQuantity": item.quantity,
                    "remainingQuantity": item.remaining,
                    "lineItem": {"__typename": "LineItem", "id": item.line_item_id},
                }
                for item in fo.items
            ),
            "fulfillments": Connection(
                _fulfillment_object(f)
                for f in order.fulfillments
                if fo.id in f.get("fulfillmentOrderIds", ())
            ),
        }

    def _mutate(self, name: str, root: FieldNode, op: Operation) -> dict[str, Any]:
        if name == "refundCreate":
            return self._refund_create(root, op)
        if name == "discountCodeBasicCreate":
            return self._discount_create(op.argument(root, "basicCodeDiscount") or {})
        if name == "draftOrderCreate":
            return self._draft_order_create(op.argument(root, "input") or {})
        if name == "fulfillmentCreate":
            return self._fulfillment_create(op.argument(root, "fulfillment") or {})
        if name == "fulfillmentEventCreate":
            return self._fulfillment_event_create(op.argument(root, "fulfillmentEvent") or {})
        try:
            return self.shop.create_subscription(
                str(op.argument(root, "topic")), op.argument(root, "webhookSubscription") or {}
            )
        except ValueError as exc:
            raise _Refused({"message": str(exc)}) from exc

    def _order(self, order_id: str) -> dict[str, Any] | None:
        """The order as the write-back reads it (fulfillment orders, fulfilments) and as
        the intake reads it (:attr:`shop`), whichever the fake holds."""
        order = self.orders.get(order_id)
        intake = self.shop.order(order_id)
        if order is None:
            return None if intake is None else _with_connections(intake)
        return {
            **(_with_connections(intake) if intake is not None else {}),
            "__typename": "Order",
            "id": order.id,
            "fulfillmentOrders": Connection(
                self._fulfillment_order_object(fo, order) for fo in order.fulfillment_orders
            ),
            "fulfillments": [_fulfillment_object(f) for f in order.fulfillments],
            **self._money_of(order),
        }

    # --- refunds and discount codes ------------------------------------------------------
    def _money_of(self, order: _Order) -> dict[str, Any]:
        left = order.paid - order.refunded
        suggested = [
            {"__typename": "SuggestedOrderTransaction", "gateway": "shopify_payments",
             "kind": "SUGGESTED_REFUND", "amountSet": _bag(left, order.currency),
             "maximumRefundableSet": _bag(left, order.currency),
             "parentTransaction": {"__typename": "OrderTransaction", "id": order.payment_id}}
        ] if left > 0 else []  # fmt: skip
        return {
            "currencyCode": order.currency,
            "totalRefundedSet": _bag(order.refunded, order.currency),
            "refunds": [_refund_object(r, order.currency) for r in order.refunds],
            "suggestedRefund": {
                "__typename": "SuggestedRefund",
                "amountSet": _bag(left, order.currency),
                "maximumRefundableSet": _bag(left, order.currency),
                "suggestedTransactions": suggested,
            },
        }

    def _refund_create(self, root: FieldNode, op: Operation) -> dict[str, Any]:
        directive = next((d for d in root.directives or () if d.name.value == "idempotent"), None)
        key = op.argument(directive, "key") if directive is not None else None  # type: ignore[arg-type]
        if key is None and self._served >= "2026-04":
            raise _Refused(
                {"message": "The @idempotent directive is required for refundCreate from"
                 " API version 2026-04.", "extensions": {"code": "BAD_REQUEST"}}
            )  # fmt: skip
        if key is not None and str(key) in self.idempotency:
            return self.idempotency[str(key)]  # the original operation's result
        data = op.argument(root, "input") or {}

        def error(message: str, *path: str) -> dict[str, Any]:
            return {"__typename": "RefundCreatePayload", "refund": None, "order": None,
                    "userErrors": [{"__typename": "UserError", "field": list(path),
                                    "message": message}]}  # fmt: skip

        order = self.orders.get(str(data.get("orderId")))
        if order is None:
            return error("Order does not exist", "orderId")
        transactions = list(data.get("transactions") or [])
        amount = Decimal(0)
        for tx in transactions:
            if tx.get("parentId") != order.payment_id:
                return error("Parent transaction does not exist", "transactions", "parentId")
            amount += Decimal(str(tx.get("amount") or "0"))
        if amount <= 0:
            return error("Refund amount must be greater than zero", "transactions")
        if amount > order.paid - order.refunded:
            return error("Refund amount exceeds the amount that can be refunded", "transactions")
        refund = {"id": self._next("Refund"), "note": data.get("note"), "amount": str(amount)}
        order.refunds.append(refund)
        payload = {
            "__typename": "RefundCreatePayload",
            "refund": _refund_object(refund, order.currency),
            "order": {
                "__typename": "Order",
                "totalRefundedSet": _bag(order.refunded, order.currency),
            },
            "userErrors": [],
        }
        if key is not None:
            self.idempotency[str(key)] = payload
        return payload

    def _discount_create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        def error(message: str, code: str, *path: str) -> dict[str, Any]:
            return {"__typename": "DiscountCodeBasicCreatePayload", "codeDiscountNode": None,
                    "userErrors": [{"__typename": "DiscountUserError",
                                    "field": ["basicCodeDiscount", *path], "code": code,
                                    "message": message}]}  # fmt: skip

        for required in ("code", "title", "context"):
            if not data.get(required):
                return error(f"{required.capitalize()} can't be blank", "BLANK", required)
        code = str(data["code"])
        if code.upper() in (c.upper() for c in self.discounts):
            return error("Code must be unique. Please try a different code.", "TAKEN", "code")
        node = {"__typename": "DiscountCodeNode", "id": self._next("DiscountCodeNode")}
        self.discounts[code] = {**data, "node": node}
        return {"__typename": "DiscountCodeBasicCreatePayload", "codeDiscountNode": node,
                "userErrors": []}  # fmt: skip

    def _draft_order_create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        def error(message: str, *path: str) -> dict[str, Any]:
            return {"__typename": "DraftOrderCreatePayload", "draftOrder": None,
                    "userErrors": [{"__typename": "UserError", "field": ["input", *path],
                                    "message": message}]}  # fmt: skip

        items = list(data.get("lineItems") or [])
        if not items:
            return error("Add at least 1 product", "lineItems")
        total = Decimal(0)
        for n, item in enumerate(items):
            if int(item.get("quantity") or 0) < 1:
                return error("Quantity must be greater than or equal to 1", "lineItems", str(n))
            if item.get("variantId"):
                return error("Unknown variant", "lineItems", str(n), "variantId")
            price = item.get("originalUnitPriceWithCurrency") or {}
            if "originalUnitPrice" in item:
                price = {"amount": item["originalUnitPrice"]}
            if not item.get("title") or price.get("amount") in (None, ""):
                return error("Custom line items need a title and a price", "lineItems", str(n))
            currency = price.get("currencyCode")
            if currency and currency != data.get("presentmentCurrencyCode", currency):
                return error("Line item currency must match the draft order's", "lineItems")
            total += Decimal(str(price["amount"])) * int(item["quantity"])
        draft_id = self._next("DraftOrder")
        token = draft_id.rsplit("/", 1)[1]
        draft = {
            "__typename": "DraftOrder",
            "id": draft_id,
            "name": f"#D{token}",
            "status": "OPEN",
            "invoiceUrl": f"https://fake-shop.myshopify.com/1/invoices/{token}",
            "email": data.get("email"),
            "tags": list(data.get("tags") or []),
            "note": data.get("note"),
            "customAttributes": list(data.get("customAttributes") or []),
            "currencyCode": data.get("presentmentCurrencyCode") or "USD",
            "totalPrice": str(total),
            "order": None,
        }
        self.draft_orders[draft_id] = draft
        return {"__typename": "DraftOrderCreatePayload", "draftOrder": draft, "userErrors": []}

    def _draft_order(self, draft_id: str) -> dict[str, Any] | None:
        return self.draft_orders.get(draft_id)

    def _drafts_matching(self, query: str) -> list[dict[str, Any]]:
        """``draftOrders(query:)``: ``tag:<tag>`` terms (all must hold); a term the fake
        does not know is an error rather than silently matching everything."""
        tags = []
        for term in query.split():
            field_name, _, value = term.partition(":")
            if field_name != "tag" or not value:
                raise _Refused({"message": f"the fake knows only tag: searches, not {term!r}"})
            tags.append(value.strip("'\""))
        return [d for d in self.draft_orders.values() if all(t in d["tags"] for t in tags)]

    def _discount_by_code(self, code: str) -> dict[str, Any] | None:
        for known, discount in self.discounts.items():
            if known.upper() == code.upper():
                return dict(discount["node"])
        return None

    def _fulfillment_order_by_id(self, fo_id: str) -> dict[str, Any] | None:
        for order in self.orders.values():
            for fo in order.fulfillment_orders:
                if fo.id == fo_id:
                    return self._fulfillment_order_object(fo, order)
        return None

    def _fulfillment_by_id(self, fulfillment_id: str) -> dict[str, Any] | None:
        for order in self.orders.values():
            for f in order.fulfillments:
                if f["id"] == fulfillment_id:
                    return _fulfillment_object(f)
        return None

    def _fulfillment_create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        def error(message: str, *path: str) -> dict[str, Any]:
            return {
                "__typename": "FulfillmentCreatePayload",
                "fulfillment": None,
                "userErrors": [
                    {
                        "__typename": "UserError",
                        "field": ["fulfillment", *path],
                        "message": message,
                    }
                ],
            }

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
            "fulfillmentOrderIds": [fo.id for fo, _ in chosen],
        }
        self.orders[orders.pop()].fulfillments.append(fulfillment)
        return {
            "__typename": "FulfillmentCreatePayload",
            "fulfillment": _fulfillment_object(fulfillment),
            "userErrors": [],
        }

    def _fulfillment_event_create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """``fulfillmentEventCreate``: the fulfilment must exist; the status must be one of
        ``FulfillmentEventStatus`` in the version served (DELAYED from 2025-07 on); the
        event is appended to the fulfilment's ``events``."""
        status = str(data.get("status") or "")
        allowed = FULFILLMENT_EVENT_STATUSES | (
            {"DELAYED"} if getattr(self, "_served", "9999") >= "2025-07" else set()
        )
        if status not in allowed:
            raise _Refused(
                {
                    "message": "Variable $fulfillmentEvent of type FulfillmentEventInput! was "
                    f'provided invalid value for status (Expected "{status}" to be one of: '
                    + ", ".join(sorted(allowed))
                    + ")",
                    "extensions": {"code": "INVALID_VARIABLE"},
                }
            )
        target = None
        for order in self.orders.values():
            for f in order.fulfillments:
                if f["id"] == data.get("fulfillmentId"):
                    target = f
        if target is None:
            return {
                "__typename": "FulfillmentEventCreatePayload",
                "fulfillmentEvent": None,
                "userErrors": [
                    {
                        "__typename": "UserError",
                        "field": ["fulfillmentEvent", "fulfillmentId"],
                        "message": "Fulfillment does not exist.",
                    }
                ],
            }
        event = {
            "__typename": "FulfillmentEvent",
            "id": self._next("FulfillmentEvent"),
            "status": status,
            "happenedAt": data.get("happenedAt") or _now_iso(),
            "message": data.get("message"),
            "estimatedDeliveryAt": data.get("estimatedDeliveryAt"),
        }
        target.setdefault("events", []).append(event)
        return {
            "__typename": "FulfillmentEventCreatePayload",
            "fulfillmentEvent": event,
            "userErrors": [],
        }

    def fulfillment_events(self) -> list[dict[str, Any]]:
        """Every fulfilment event created, in order (for tests)."""
        return [
            e
            for order in self.orders.values()
            for f in order.fulfillments
            for e in f.get("events", ())
        ]


# FulfillmentEventStatus of 2024-04 on
# (https://shopify.dev/docs/api/admin-graphql/2024-04/enums/FulfillmentEventStatus);
# DELAYED from 2025-07 (https://shopify.dev/docs/api/admin-graphql/2025-07/enums/FulfillmentEventStatus)
FULFILLMENT_EVENT_STATUSES = frozenset(
    {
        "ATTEMPTED_DELIVERY",
        "CONFIRMED",
        "DELIVERED",
        "FAILURE",
        "IN_TRANSIT",
        "LABEL_PRINTED",
        "LABEL_PURCHASED",
        "OUT_FOR_DELIVERY",
        "READY_FOR_PICKUP",
    }
)


def _now_iso() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fulfillment_object(f: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "Fulfillment",
        "id": f["id"],
        "status": f["status"],
        "events": Connection(dict(e) for e in f.get("events", ())),
        "trackingInfo": [{"__typename": "FulfillmentTrackingInfo", **t} for t in f["trackingInfo"]],
    }


_EVENT_SHAPE = {
    "__typename": "FulfillmentEvent",
    "id": "",
    "status": "",
    "happenedAt": "",
    "message": None,
    "estimatedDeliveryAt": None,
}


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"__typename": "MoneyV2", "amount": str(amount), "currencyCode": currency}
    return {"__typename": "MoneyBag", "shopMoney": money, "presentmentMoney": money}


def _refund_object(refund: Mapping[str, Any], currency: str) -> dict[str, Any]:
    return {
        "__typename": "Refund",
        "id": refund["id"],
        "note": refund.get("note"),
        "totalRefundedSet": _bag(Decimal(refund["amount"]), currency),
    }


_PAYLOAD_SHAPES: dict[str, dict[str, Any]] = {
    "refundCreate": {
        "__typename": "RefundCreatePayload",
        "refund": _refund_object({"id": "", "amount": "0"}, "USD"),
        "order": {"__typename": "Order", "totalRefundedSet": _bag(Decimal(0), "USD")},
        "userErrors": [{"__typename": "UserError", "field": [], "message": ""}],
    },
    "discountCodeBasicCreate": {
        "__typename": "DiscountCodeBasicCreatePayload",
        "codeDiscountNode": {"__typename": "DiscountCodeNode", "id": ""},
        "userErrors": [{"__typename": "DiscountUserError", "field": [], "code": "", "message": ""}],
    },
    "draftOrderCreate": {
        "__typename": "DraftOrderCreatePayload",
        "draftOrder": {
            "__typename": "DraftOrder",
            "id": "",
            "name": "",
            "status": "",
            "invoiceUrl": "",
            "email": None,
            "tags": [],
            "note": None,
            "customAttributes": [],
            "currencyCode": "",
            "totalPrice": "",
            "order": None,
        },
        "userErrors": [{"__typename": "UserError", "field": [], "message": ""}],
    },
    "fulfillmentEventCreate": {
        "__typename": "FulfillmentEventCreatePayload",
        "fulfillmentEvent": _EVENT_SHAPE,
        "userErrors": [{"__typename": "UserError", "field": [], "message": ""}],
    },
    "fulfillmentCreate": {
        "__typename": "FulfillmentCreatePayload",
        "fulfillment": _fulfillment_object(
            {"id": "", "status": "", "trackingInfo": [{"company": "", "number": "", "url": ""}]}
        ),
        "userErrors": [{"__typename": "UserError", "field": [], "message": ""}],
    },
    "webhookSubscriptionCreate": {
        "__typename": "WebhookSubscriptionCreatePayload",
        "webhookSubscription": {
            "__typename": "WebhookSubscription",
            "id": "",
            "topic": "",
            "format": "",
            "uri": "",
        },
        "userErrors": [{"__typename": "UserError", "field": [], "message": ""}],
    },
}
MAX_PAGE = 250


def _with_connections(obj: dict[str, Any]) -> dict[str, Any]:
    """An intake order's line items and shipping lines as connections."""
    out = dict(obj)
    for name in ("lineItems", "shippingLines"):
        if isinstance(out.get(name), list):
            out[name] = Connection(out[name])
    return out


def _longest_array(value: object) -> int:
    if isinstance(value, list):
        return max([len(value), *(_longest_array(v) for v in value)])
    if isinstance(value, Mapping):
        return max([0, *(_longest_array(v) for v in value.values())])
    return 0


def _cursor(index: int) -> str:
    return f"cursor:{index}"


def _cursor_index(cursor: object) -> int:
    try:
        return int(str(cursor).removeprefix("cursor:"))
    except ValueError as exc:
        raise _Refused({"message": f"Invalid cursor for current pagination: {cursor}"}) from exc
