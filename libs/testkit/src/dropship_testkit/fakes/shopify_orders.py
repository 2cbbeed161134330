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

:class:`ShopData` holds them for :class:`~.shopify_admin.FakeShopifyAdmin`, which pages
and projects them like its other objects. Documented rules kept here:

* ``orders(query:)`` takes the search syntax's ``updated_at`` comparisons
  (``updated_at:>='2026-12-04T10:00:00Z'``, https://shopify.dev/docs/api/usage/search-syntax)
  and ``sortKey: UPDATED_AT``;
* ``webhookSubscriptions`` lists only the subscriptions made through the API (those of
  an app's ``shopify.app.toml`` or of the Shopify admin are not listed,
  https://shopify.dev/docs/api/admin-graphql/latest/queries/webhookSubscriptions);
* ``webhookSubscriptionCreate`` refuses, as ``userErrors``, an address that is not
  ``https://`` and a second subscription of the same topic to the same address
  ("Address for this topic has already been taken",
  https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate);
  an unknown topic is an error of the ``WebhookSubscriptionTopic`` enum (the values it
  knows: https://shopify.dev/docs/api/admin-graphql/latest/enums/WebhookSubscriptionTopic).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


def _gid(kind: str, number: Any) -> str | None:
    return None if number is None else f"gid://shopify/{kind}/{number}"


def _bag(amount: Any, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {
        "__typename": "MoneyBag",
        "shopMoney": {"__typename": "MoneyV2", "amount": str(amount), "currencyCode": currency},
    }


def _attributes(pairs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {"__typename": "Attribute", "key": p.get("name"), "value": p.get("value")}
        for p in pairs or []
    ]


def _upper(value: Any) -> str | None:
    return None if value is None else str(value).upper()


def _address(addr: dict[str, Any] | None) -> dict[str, Any] | None:
    if addr is None:
        return None
    return {
        "__typename": "MailingAddress",
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
    return {"__typename": kind, "id": _gid(kind, number), "legacyResourceId": str(number)}


def graphql_line_item(item: dict[str, Any], currency: str) -> dict[str, Any]:
    return {
        "__typename": "LineItem",
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
    ``shippingLines`` as plain lists of nodes (the fake makes them connections)."""
    currency = str(rest.get("currency") or "USD")
    customer = rest.get("customer")
    return {
        "__typename": "Order",
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
            "__typename": "Customer",
            "id": _gid("Customer", customer.get("id")),
            "legacyResourceId": str(customer.get("id")),
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "defaultEmailAddress": {
                "__typename": "CustomerEmailAddress",
                "emailAddress": customer["email"],
            }
            if customer.get("email")
            else None,
            "defaultPhoneNumber": {
                "__typename": "CustomerPhoneNumber",
                "phoneNumber": customer["phone"],
            }
            if customer.get("phone")
            else None,
        },
        "lineItems": [graphql_line_item(i, currency) for i in rest.get("line_items") or []],
        "shippingLines": [
            {
                "__typename": "ShippingLine",
                "title": s.get("title"),
                "code": s.get("code"),
                "originalPriceSet": _bag(s.get("price"), currency),
            }
            for s in rest.get("shipping_lines") or []
        ],
    }


_SEARCH = re.compile(r"updated_at:(>=|<=|>|<)'?([0-9T:+\-.Z]+)'?")
SUBSCRIPTION_TOPICS = frozenset(
    {
        "ORDERS_CREATE",
        "ORDERS_PAID",
        "ORDERS_UPDATED",
        "ORDERS_CANCELLED",
        "ORDERS_DELETE",
        "ORDERS_FULFILLED",
        "REFUNDS_CREATE",
        "RETURNS_REQUEST",
    }
)


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _holds(value: dt.datetime, op: str, bound: dt.datetime) -> bool:
    if op == ">=":
        return value >= bound
    if op == "<=":
        return value <= bound
    return value > bound if op == ">" else value < bound


class ShopData:
    """The shop's orders (REST-shaped, served as GraphQL ``Order``) and the webhook
    subscriptions made through the API."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self._ids = 5000

    def put_order(self, rest: dict[str, Any], updated: dt.datetime) -> None:
        self.orders[int(rest["id"])] = {
            **rest,
            "updated_at": updated.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }

    def add_subscription(self, topic: str, uri: str, fmt: str = "JSON") -> str:
        self._ids += 1
        sub_id = f"gid://shopify/WebhookSubscription/{self._ids}"
        self.subscriptions[sub_id] = {
            "__typename": "WebhookSubscription",
            "id": sub_id,
            "topic": topic,
            "format": fmt,
            "uri": uri,
        }
        return sub_id

    def order(self, gid: str) -> dict[str, Any] | None:
        try:
            number = int(str(gid).rsplit("/", 1)[-1])
        except ValueError:
            return None
        rest = self.orders.get(number)
        return None if rest is None else graphql_order(rest)

    def search(self, query: str | None, sort_key: str | None) -> list[dict[str, Any]]:
        """The orders the search query matches, sorted as asked (by id by default)."""
        found = list(self.orders.values())
        for op, value in _SEARCH.findall(query or ""):
            found = [o for o in found if _holds(_instant(o["updated_at"]), op, _instant(value))]
        if sort_key == "UPDATED_AT":
            found.sort(key=lambda o: (_instant(o["updated_at"]), o["id"]))
        else:
            found.sort(key=lambda o: o["id"])
        return [graphql_order(o) for o in found]

    def create_subscription(self, topic: str, given: dict[str, Any]) -> dict[str, Any]:
        """The ``WebhookSubscriptionCreatePayload``; ValueError for an unknown topic."""
        if topic not in SUBSCRIPTION_TOPICS:
            raise ValueError(
                f"Variable $topic of type WebhookSubscriptionTopic! was provided invalid "
                f"value: {topic}"
            )
        uri = str(given.get("uri") or given.get("callbackUrl") or "")

        def refused(field: str, message: str) -> dict[str, Any]:
            error = {
                "__typename": "UserError",
                "field": ["webhookSubscription", field],
                "message": message,
            }
            return {
                "__typename": "WebhookSubscriptionCreatePayload",
                "webhookSubscription": None,
                "userErrors": [error],
            }

        if not uri.startswith("https://"):
            return refused("callbackUrl", "Address protocol http:// is not supported")
        if any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions.values()):
            return refused("address", "Address for this topic has already been taken")
        sub_id = self.add_subscription(topic, uri, str(given.get("format") or "JSON"))
        return {
            "__typename": "WebhookSubscriptionCreatePayload",
            "webhookSubscription": self.subscriptions[sub_id],
            "userErrors": [],
        }
