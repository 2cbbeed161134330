"""A Shopify order read through the Admin GraphQL API becomes the body its webhook
carries: the intake's parser makes the same canonical order of both."""

from __future__ import annotations

import json
from typing import Any

import orjson

from dropship_testkit.fakes.shopify_orders import graphql_order
from dropship_testkit.storefront import shopify_order_body
from order_intake.storefront_sync.shopify_order import to_rest
from order_intake.storefronts import shopify


def _through_graphql(rest: dict[str, Any]) -> bytes:
    node = graphql_order(rest)
    lines = node.pop("lineItems")
    node["shippingLines"] = {"nodes": node["shippingLines"]}
    return orjson.dumps(to_rest(node, lines))


def test_the_graphql_order_parses_as_its_webhook_does() -> None:
    rest = json.loads(shopify_order_body())
    rest["cancelled_at"], rest["cancel_reason"] = "2008-01-11T09:00:00-05:00", "customer"
    rest["customer"]["phone"] = "+15555550100"
    webhook = shopify.parse_order(json.dumps(rest))
    reconciled = shopify.parse_order(_through_graphql(rest))
    # a line's grams are not on the GraphQL line item: everything else is the same
    without_grams = tuple(line.model_copy(update={"grams": None}) for line in webhook.lines)
    assert reconciled.lines == without_grams
    assert reconciled.model_copy(update={"lines": webhook.lines}) == webhook
    assert reconciled.cancelled and reconciled.cancel_reason == "customer"
    assert reconciled.payment_status == webhook.payment_status
    assert reconciled.buyer.phone == webhook.buyer.phone


def test_removed_lines_and_prices_survive_the_mapping() -> None:
    rest = json.loads(shopify_order_body())
    rest["line_items"][1]["current_quantity"] = 0  # removed by an order edit
    rest["financial_status"] = "partially_refunded"
    reconciled = shopify.parse_order(_through_graphql(rest))
    assert len(reconciled.lines) == len(rest["line_items"]) - 1
    assert str(reconciled.total_price) == rest["total_price"]
    assert reconciled.payment_status == shopify.payment_status("partially_refunded")
