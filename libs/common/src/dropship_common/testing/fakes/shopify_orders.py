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
``defaultPhoneNumber``."""

from __future__ import annotations

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
