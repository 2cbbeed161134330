"""A Shopify order as the Admin GraphQL API gives it, written as the REST order resource
that ``orders/*`` webhooks carry, so that reconciliation feeds the webhook intake
(``storefronts/shopify.py``) unchanged.

Only the fields that parser reads are asked for and mapped (money in the shop's
currency, ``shopMoney``, as the webhook's ``total_price``/``price`` are). Not available
in the same shape: a line's ``grams`` (GraphQL has it on the variant's inventory item;
left out, the parser takes it as unknown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ORDER_FIELDS = """
  id
  legacyResourceId
  name
  email
  phone
  currencyCode
  createdAt
  updatedAt
  cancelledAt
  cancelReason
  displayFinancialStatus
  test
  note
  customAttributes { key value }
  customerLocale
  totalPriceSet { shopMoney { amount } }
  subtotalPriceSet { shopMoney { amount } }
  totalTaxSet { shopMoney { amount } }
  shippingAddress { ...Address }
  billingAddress { ...Address }
  customer { legacyResourceId firstName lastName defaultEmailAddress { emailAddress }
             defaultPhoneNumber { phoneNumber } }
  shippingLines(first: SHIPPING_LINES) {
    nodes { title code originalPriceSet { shopMoney { amount } } }
  }
"""

LINE_FIELDS = """
  nodes {
    id
    title
    name
    quantity
    currentQuantity
    sku
    variantTitle
    requiresShipping
    product { legacyResourceId }
    variant { legacyResourceId }
    originalUnitPriceSet { shopMoney { amount } }
    customAttributes { key value }
  }
  pageInfo { hasNextPage endCursor }
"""

ADDRESS_FRAGMENT = """
fragment Address on MailingAddress {
  firstName lastName name company address1 address2 city province provinceCode zip
  country countryCodeV2 phone
}
"""


def _money(bag: Mapping[str, Any] | None) -> str | None:
    if not bag:
        return None
    amount = (bag.get("shopMoney") or {}).get("amount")
    return None if amount is None else str(amount)


def _legacy(node: Mapping[str, Any] | None) -> int | None:
    if not node or node.get("legacyResourceId") is None:
        return None
    return int(node["legacyResourceId"])


def gid_number(gid: str) -> int:
    """``gid://shopify/LineItem/466157049`` -> 466157049."""
    return int(str(gid).rsplit("/", 1)[-1].split("?", 1)[0])


def _pairs(attributes: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"name": a.get("key"), "value": a.get("value")} for a in attributes or []]


def _lower(value: Any) -> str | None:
    return None if value is None else str(value).lower()


def _address(addr: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if addr is None:
        return None
    return {
        "first_name": addr.get("firstName"),
        "last_name": addr.get("lastName"),
        "name": addr.get("name"),
        "company": addr.get("company"),
        "address1": addr.get("address1"),
        "address2": addr.get("address2"),
        "city": addr.get("city"),
        "province": addr.get("province"),
        "province_code": addr.get("provinceCode"),
        "zip": addr.get("zip"),
        "country": addr.get("country"),
        "country_code": addr.get("countryCodeV2"),
        "phone": addr.get("phone"),
    }


def line_item(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": gid_number(node["id"]),
        "title": node.get("title"),
        "name": node.get("name"),
        "quantity": node.get("quantity"),
        "current_quantity": node.get("currentQuantity"),
        "price": _money(node.get("originalUnitPriceSet")),
        "sku": node.get("sku"),
        "product_id": _legacy(node.get("product")),
        "variant_id": _legacy(node.get("variant")),
        "variant_title": node.get("variantTitle"),
        "requires_shipping": node.get("requiresShipping", True),
        "properties": _pairs(node.get("customAttributes")),
    }


def _customer(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {
        "id": _legacy(node),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "email": (node.get("defaultEmailAddress") or {}).get("emailAddress"),
        "phone": (node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
    }


def to_rest(order: Mapping[str, Any], lines: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The REST order resource (the ``orders/updated`` webhook's body) of a GraphQL
    ``Order`` (:data:`ORDER_FIELDS`) and all of its line item nodes."""
    shipping_lines = (order.get("shippingLines") or {}).get("nodes") or []
    return {
        "id": int(order["legacyResourceId"]),
        "admin_graphql_api_id": order.get("id"),
        "name": order.get("name"),
        "email": order.get("email"),
        "phone": order.get("phone"),
        "currency": order.get("currencyCode"),
        "created_at": order.get("createdAt"),
        "updated_at": order.get("updatedAt"),
        "cancelled_at": order.get("cancelledAt"),
        "cancel_reason": _lower(order.get("cancelReason")),
        "financial_status": _lower(order.get("displayFinancialStatus")),
        "test": bool(order.get("test")),
        "note": order.get("note"),
        "note_attributes": _pairs(order.get("customAttributes")),
        "customer_locale": order.get("customerLocale"),
        "total_price": _money(order.get("totalPriceSet")),
        "subtotal_price": _money(order.get("subtotalPriceSet")),
        "total_tax": _money(order.get("totalTaxSet")),
        "line_items": [line_item(node) for node in lines],
        "shipping_lines": [
            {
                "title": s.get("title"),
                "code": s.get("code"),
                "price": _money(s.get("originalPriceSet")),
            }
            for s in shipping_lines
        ],
        "shipping_address": _address(order.get("shippingAddress")),
        "billing_address": _address(order.get("billingAddress")),
        "customer": _customer(order.get("customer")),
    }
