"""Shopify: fulfilments through the Admin GraphQL API.

The order's fulfillment orders are read first (with the fulfilments the order already
has), then ``fulfillmentCreate`` fulfils the covered lines with the tracking company,
number(s) and URL(s). Reading first makes every attempt safe to repeat: a line whose
``remainingQuantity`` is 0 is not fulfilled again, and a fulfilment carrying our tracking
number means an earlier attempt got through.

Rate limits are by query cost: a throttled answer (``THROTTLED``, HTTP 200 or 429) says
how many points are available and the restore rate, so the wait is
``(requested - available) / restoreRate``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from order_intake.fulfilment.base import (
    FulfilmentPlugin,
    FulfilmentRequest,
    Outcome,
    ShipmentLine,
    StorefrontRejected,
    StorefrontUnavailable,
)
from order_intake.fulfilment.http_errors import calling, check_status

API_VERSION = "2025-01"
# fulfillment order states that accept a fulfilment
FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})
MAX_THROTTLE_WAIT = 10.0  # seconds waited in place; longer: rescheduled
MAX_THROTTLE_TRIES = 3

ORDER_QUERY = """
query OrderForFulfilment($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 50) {
      nodes {
        id
        status
        assignedLocation { location { id } }
        lineItems(first: 250) {
          nodes { id remainingQuantity lineItem { id } }
        }
      }
    }
    fulfillments(first: 250) {
      id
      status
      trackingInfo(first: 20) { company number url }
    }
  }
}
""".strip()

FULFILLMENT_CREATE = """
mutation FulfilmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 20) { company number url } }
    userErrors { field message }
  }
}
""".strip()


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


def throttle_wait(body: Mapping[str, Any]) -> float | None:
    """Seconds until a throttled query can run, or None when the answer is not a throttle."""
    errors = body.get("errors") or []
    if not any(
        isinstance(e, Mapping)
        and (
            (e.get("extensions") or {}).get("code") == "THROTTLED"
            or e.get("message") == "Throttled"
        )
        for e in errors
    ):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        requested = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(0.0, requested - available) / rate


class ShopifyFulfilment(FulfilmentPlugin):
    platform: ClassVar[str] = "shopify"

    @property
    def path(self) -> str:
        return f"/admin/api/{API_VERSION}/graphql.json"

    async def graphql(
        self, query: str, variables: dict[str, Any], *, what: str, read_only: bool
    ) -> dict[str, Any]:
        """``data`` of the answer. Throttled: wait in place if short, else reschedule."""
        headers = {"X-Shopify-Access-Token": self.credential("access_token")}
        for _ in range(MAX_THROTTLE_TRIES):
            async with calling(what):
                response = await self.client.post(
                    self.path,
                    json={"query": query, "variables": variables},
                    headers=headers,
                    extensions={"idempotent": read_only},
                )
            body = _json(response)
            wait = throttle_wait(body) if body is not None else None
            if wait is None:
                check_status(response, what, time.time())
                if body is None:
                    raise StorefrontUnavailable(f"{what}: answer is not JSON")
                break
            if wait > MAX_THROTTLE_WAIT:
                raise StorefrontUnavailable(f"{what}: throttled", retry_after=wait)
            await asyncio.sleep(wait)
        else:
            raise StorefrontUnavailable(f"{what}: still throttled", retry_after=1.0)
        errors = body.get("errors")
        if errors:
            listed = (
                [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
            )
            codes = {str((e.get("extensions") or {}).get("code")) for e in listed}
            message = ("; ".join(str(e.get("message")) for e in listed) or str(errors))[:500]
            if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"}:
                raise StorefrontUnavailable(f"{what}: {message}")
            raise StorefrontRejected(f"{what}: {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise StorefrontUnavailable(f"{what}: no data in the answer")
        return data

    async def fulfil(self, request: FulfilmentRequest) -> Outcome:
        data = await self.graphql(
            ORDER_QUERY,
            {"id": order_gid(request.order_external_id)},
            what="fulfillmentOrders",
            read_only=True,
        )
        order = data.get("order")
        if not isinstance(order, dict):
            raise StorefrontRejected(f"order {request.order_external_id} not found at Shopify")
        plans = plan(open_items(order), request.lines)
        done = existing_fulfilment(order, request.tracking_numbers)
        if not plans:
            if done is not None:
                return Outcome("existing", done)
            return Outcome("nothing_to_do", detail="the lines are fulfilled at Shopify already")
        created: list[str] = []
        for by_fulfillment_order in plans.values():
            data = await self.graphql(
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


def _json(response: Any) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
