"""Orders and webhook subscriptions of the fake Shopify shop, as the Admin GraphQL API
returns them.

An order is kept as the REST resource that ``orders/*`` webhooks carry (what tests
already have as fixtures) and served as the GraphQL ``Order`` object, following the
field mapping Shopify documents for each object
(https://shopify.dev/docs/api/admin-graphql/latest/objects/Order,
https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem,
https://shopify.dev/docs/api/admin-graphql/latest/objects/MailingAddress): ids are
global ids (``gid://shopify/Order/<id>``) with the number in ``legacyResourceId``,
money is a ``MoneyBag`` (``shopMoney.amount``), enums are upper case
(``displayFinancialStatus: PAID``, ``cancelReason: CUSTOMER``), attributes are
``{key, value}``, the customer's e-mail and phone are ``defaultEmailAddress`` /
``defaultPhoneNumber``.

:class:`ShopData` answers the operations reconciliation uses, with the documented rules:

* connections take ``first`` from 1 to 250 and an opaque ``after`` cursor, and answer
  ``nodes`` with ``pageInfo { hasNextPage endCursor }``
  (https://shopify.dev/docs/api/usage/pagination-graphql; "first … must be … less than or
  equal to 250", https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits);
* ``orders(query:)`` understands the search syntax's ``updated_at`` comparisons
  (``updated_at:>='2026-12-04T10:00:00Z'``, https://shopify.dev/docs/api/usage/search-syntax)
  and ``sortKey: UPDATED_AT``;
* ``webhookSubscriptions`` lists only the subscriptions made through the API (those of
  an app's ``shopify.app.toml`` are not listed,
  https://shopify.dev/docs/api/admin-graphql/latest/queries/webhookSubscriptions);
* ``webhookSubscriptionCreate`` refuses, as ``userErrors``, an address that is not
  ``https://`` and a second subscription of the same topic to the same address
  ("Address for this topic has already been taken",
  https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any


def _gid(kind: str, number: Any) -> str | None:
    return None if number is None else f"gid://shopify/{kind}/{number}"


def _bag(amount: Any, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


def _attributes(pairs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"key": p.get("name"), "value": p.get("value")} for p in pairs or []]


def _upper(value: Any) -> str | None:
    return None if value is None else str(value).upper()


def _address(addr: dict[str, Any] | None) -> dict[str, Any] | None:
    if addr is None:
        return None
    return {
        "firstName": addr.get("first_name"),
        "lastName": addr.get("last_name"),
        "name": addr.get("name"),
        "company": addr.get("company"),
        "address1": addr.get("address1"),
        "address2": addr.get("address2"),
        "city": addr.get("city"),
        "province": addr.get("province"),
        "provinceCode": addr.get("province_code"),
        "zip": addr.get("zip"),
        "country": addr.get("country"),
        "countryCodeV2": addr.get("country_code"),
        "phone": addr.get("phone"),
    }


def _legacy(kind: str, number: Any) -> dict[str, Any] | None:
    if number is None:
        return None
    return {"id": _gid(kind, number), "legacyResourceId": str(number)}


def graphql_line_item(item: dict[str, Any], currency: str) -> dict[str, Any]:
    return {
        "id": _gid("LineItem", item["id"]),
        "title": item.get("title"),
        "name": item.get("name"),
        "quantity": item.get("quantity"),
        "currentQuantity": item.get("current_quantity", item.get("quantity")),
        "sku": item.get("sku"),
        "variantTitle": item.get("variant_title"),
        "requiresShipping": item.get("requires_shipping", True),
        "product": _legacy("Product", item.get("product_id")),
        "variant": _legacy("ProductVariant", item.get("variant_id")),
        "originalUnitPriceSet": _bag(item.get("price"), currency),
        "customAttributes": _attributes(item.get("properties")),
    }


def graphql_order(rest: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL ``Order`` of a REST order resource; ``lineItems`` and
    ``shippingLines`` as plain lists of nodes (the fake pages them)."""
    currency = str(rest.get("currency") or "USD")
    customer = rest.get("customer")
    return {
        "id": _gid("Order", rest["id"]),
        "legacyResourceId": str(rest["id"]),
        "name": rest.get("name"),
        "email": rest.get("email"),
        "phone": rest.get("phone"),
        "currencyCode": currency,
        "createdAt": rest.get("created_at"),
        "updatedAt": rest.get("updated_at"),
        "cancelledAt": rest.get("cancelled_at"),
        "cancelReason": _upper(rest.get("cancel_reason")),
        "displayFinancialStatus": _upper(rest.get("financial_status")),
        "test": bool(rest.get("test")),
        "note": rest.get("note"),
        "customAttributes": _attributes(rest.get("note_attributes")),
        "customerLocale": rest.get("customer_locale"),
        "totalPriceSet": _bag(rest.get("total_price"), currency),
        "subtotalPriceSet": _bag(rest.get("subtotal_price"), currency),
        "totalTaxSet": _bag(rest.get("total_tax"), currency),
        "shippingAddress": _address(rest.get("shipping_address")),
        "billingAddress": _address(rest.get("billing_address")),
        "customer": None
        if customer is None
        else {
            "id": _gid("Customer", customer.get("id")),
            "legacyResourceId": str(customer.get("id")),
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "defaultEmailAddress": {"emailAddress": customer["email"]}
            if customer.get("email")
            else None,
            "defaultPhoneNumber": {"phoneNumber": customer["phone"]}
            if customer.get("phone")
            else None,
        },
        "lineItems": [graphql_line_item(i, currency) for i in rest.get("line_items") or []],
        "shippingLines": [
            {
                "title": s.get("title"),
                "code": s.get("code"),
                "originalPriceSet": _bag(s.get("price"), currency),
            }
            for s in rest.get("shipping_lines") or []
        ],
    }


MAX_FIRST = 250
_SEARCH = re.compile(r"updated_at:(>=|<=|>|<)'?([0-9T:+\-.Z]+)'?")
_TOPICS = {
    "ORDERS_CREATE",
    "ORDERS_PAID",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "ORDERS_DELETE",
    "ORDERS_FULFILLED",
}


class GraphQLError(Exception):
    """A top-level ``errors`` entry (bad arguments)."""


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _holds(value: dt.datetime, op: str, bound: dt.datetime) -> bool:
    if op == ">=":
        return value >= bound
    if op == "<=":
        return value <= bound
    return value > bound if op == ">" else value < bound


def _page(items: list[Any], first: Any, after: Any) -> dict[str, Any]:
    if not isinstance(first, int) or not 1 <= first <= MAX_FIRST:
        raise GraphQLError(f"first must be between 1 and {MAX_FIRST}")
    start = int(base64.b64decode(after).decode()) if after else 0
    chunk = items[start : start + first]
    end = start + len(chunk)
    return {
        "nodes": chunk,
        "pageInfo": {
            "hasNextPage": end < len(items),
            "endCursor": base64.b64encode(str(end).encode()).decode() if chunk else None,
        },
    }


class ShopData:
    """The shop's orders (REST-shaped, served as GraphQL) and webhook subscriptions."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.app_config_topics: set[str] = set()  # subscribed in shopify.app.toml: unlisted
        self._ids = 5000

    def put_order(self, rest: dict[str, Any], updated: dt.datetime) -> None:
        self.orders[int(rest["id"])] = {
            **rest,
            "updated_at": updated.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }

    def add_subscription(self, topic: str, uri: str, fmt: str = "JSON") -> str:
        self._ids += 1
        sub_id = f"gid://shopify/WebhookSubscription/{self._ids}"
        self.subscriptions[sub_id] = {"id": sub_id, "topic": topic, "format": fmt, "uri": uri}
        return sub_id

    # --- the operations ---------------------------------------------------------------
    def orders_connection(self, variables: dict[str, Any]) -> dict[str, Any]:
        found = list(self.orders.values())
        for op, value in _SEARCH.findall(str(variables.get("query") or "")):
            found = [o for o in found if _holds(_instant(o["updated_at"]), op, _instant(value))]
        found.sort(key=lambda o: (_instant(o["updated_at"]), o["id"]))
        nodes = [
            {
                "id": f"gid://shopify/Order/{o['id']}",
                "legacyResourceId": str(o["id"]),
                "updatedAt": o["updated_at"],
            }
            for o in found
        ]
        return {"orders": _page(nodes, variables.get("first"), variables.get("after"))}

    def order(self, variables: dict[str, Any]) -> dict[str, Any]:
        number = int(str(variables.get("id")).rsplit("/", 1)[-1])
        rest = self.orders.get(number)
        if rest is None:
            return {"order": None}
        node = graphql_order(rest)
        node["lineItems"] = _page(node["lineItems"], variables.get("lines"), variables.get("after"))
        node["shippingLines"] = _page(node["shippingLines"], 5, None)
        return {"order": node}

    def webhook_subscriptions(self, variables: dict[str, Any]) -> dict[str, Any]:
        listed = list(self.subscriptions.values())
        return {
            "webhookSubscriptions": _page(listed, variables.get("first"), variables.get("after"))
        }

    def webhook_subscription_create(self, variables: dict[str, Any]) -> dict[str, Any]:
        topic = str(variables.get("topic"))
        given = variables.get("webhookSubscription") or {}
        uri = str(given.get("uri") or given.get("callbackUrl") or "")

        def refused(field: str, message: str) -> dict[str, Any]:
            return {
                "webhookSubscriptionCreate": {
                    "webhookSubscription": None,
                    "userErrors": [{"field": ["webhookSubscription", field], "message": message}],
                }
            }

        if topic not in _TOPICS:
            raise GraphQLError(f"invalid value for WebhookSubscriptionTopic: {topic}")
        if not uri.startswith("https://"):
            return refused("callbackUrl", "Address protocol http:// is not supported")
        if any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions.values()):
            return refused("address", "Address for this topic has already been taken")
        sub_id = self.add_subscription(topic, uri, str(given.get("format") or "JSON"))
        created = self.subscriptions[sub_id]
        return {
            "webhookSubscriptionCreate": {
                "webhookSubscription": {k: created[k] for k in ("id", "topic", "uri")},
                "userErrors": [],
            }
        }
