"""The storefront's aftersales signals reach aftersales once: Shopify's ``returns/request``
and ``refunds/create`` webhooks and the refunds a WooCommerce order lists, on real
PostgreSQL + RabbitMQ with the vendors' payloads.

"Once" is checked without waiting for nothing: the duplicates are delivered and
processed first, then a later signal of the same order; the relay publishes an order's
events in the order they were written, so when the later one has arrived, any copy of
the first would have too."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from dropship_testkit.payloads import PAYLOADS
from dropship_testkit.storefront import (
    create_shop,
    shopify_headers,
    shopify_order_body,
    woo_headers,
    woo_order_body,
)
from dropship_testkit.tap import eventually

from .conftest import DOMAIN, SECRET, Intake

pytestmark = pytest.mark.integration

WOO_SECRET = "woo-secret-123"
ORDER = "450789469"  # the Shopify fixture order


async def deliver(intake: Intake, topic: str, body: dict[str, Any], webhook_id: str) -> None:
    raw = json.dumps(body).encode()
    headers = shopify_headers(raw, SECRET, topic=topic, domain=DOMAIN, webhook_id=webhook_id)
    r = await intake.client.post("/webhooks/shopify", content=raw, headers=headers)
    assert (r.status_code, r.json()["status"]) == (200, "accepted"), r.text


async def settled(intake: Intake, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        found = await intake.deliveries()
        done = [d for d in found if d["status"] == "processed"]
        return found if len(done) >= count else None

    return await eventually(probe)


async def shopify_order(intake: Intake) -> dict[str, Any]:
    raw = shopify_order_body()
    headers = shopify_headers(raw, SECRET, domain=DOMAIN, webhook_id="order-1")
    r = await intake.client.post("/webhooks/shopify", content=raw, headers=headers)
    assert r.status_code == 200, r.text
    return await intake.wait_order(ORDER, "confirmed")


def shopify_return(return_id: int, lines: list[tuple[int, int, str]]) -> dict[str, Any]:
    """A ``returns/request`` body, shaped as Shopify sends it (lower-case reasons, the
    order's line item under the fulfillment line item)."""
    return {
        "id": return_id,
        "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
        "status": "requested",
        "order": {"id": int(ORDER), "admin_graphql_api_id": f"gid://shopify/Order/{ORDER}"},
        "total_return_line_items": len(lines),
        "name": "#1001-R1",
        "return_line_items": [
            {
                "id": return_id * 10 + i,
                "admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{return_id * 10 + i}",
                "fulfillment_line_item": {
                    "id": 900 + i,
                    "admin_graphql_api_id": f"gid://shopify/FulfillmentLineItem/{900 + i}",
                    "line_item": {
                        "id": line_item,
                        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_item}",
                    },
                },
                "quantity": quantity,
                "return_reason": reason,
                "return_reason_note": "",
                "customer_note": "Too small around the shoulders" if i == 0 else None,
            }
            for i, (line_item, quantity, reason) in enumerate(lines)
        ],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


def shopify_refund(**changes: Any) -> dict[str, Any]:
    """The vendor's refund fixture as the ``refunds/create`` body (unwrapped)."""
    refund: dict[str, Any] = json.loads((PAYLOADS / "shopify" / "refund.json").read_bytes())[
        "refund"
    ]
    refund.update(changes)
    return refund


async def test_a_return_request_is_one_event_with_our_lines(intake: Intake) -> None:
    order = await shopify_order(intake)
    lines = {ln["sku"]: ln["id"] for ln in order["lines"]}
    asked = shopify_return(
        3547267221, [(703073504, 1, "size_too_small"), (1234, 2, "size_too_small")]
    )
    await deliver(intake, "returns/request", asked, "ret-1")
    await deliver(intake, "returns/request", asked, "ret-1-again")  # Shopify's retry
    await settled(intake, 3)
    await deliver(intake, "returns/request", shopify_return(77, [(466157049, 1, "color")]), "r2")

    events = await intake.tap.wait_for("order.return_requested", count=2, order_id=order["id"])
    first = [e for e in events if e.payload["storefront_return_id"].endswith("/3547267221")]
    assert len(first) == 1 and len(events) == 2
    p = first[0].payload
    assert p["storefront_return_id"] == "gid://shopify/Return/3547267221"
    assert p["shop_id"] == intake.shop_id and p["reason"] == "SIZE_TOO_SMALL"
    # the storefront's line item mapped to our line; one we do not know stays unnamed
    assert p["lines"] == [
        {"line_id": lines["IPOD2008BLACK"], "quantity": 1},
        {"line_id": None, "quantity": 2},
    ]
    assert p["buyer_note"] == "Too small around the shoulders"
    assert first[0].correlation_id == order["id"]
    timeline = (await intake.order(order["id"]))["timeline"]
    assert [e["kind"] for e in timeline].count("return_requested") == 2


async def test_a_return_for_an_order_we_do_not_hold_is_processed_and_publishes_nothing(
    intake: Intake,
) -> None:
    await deliver(intake, "returns/request", shopify_return(5, [(1, 1, "other")]), "ret-x")
    [delivery] = await settled(intake, 1)
    assert delivery["order_id"] is None
    assert intake.tap.of_type("order.return_requested") == []


async def test_a_return_request_without_lines_is_refused_at_the_door(intake: Intake) -> None:
    body = shopify_return(6, [])
    del body["return_line_items"]
    raw = json.dumps(body).encode()
    headers = shopify_headers(raw, SECRET, topic="returns/request", domain=DOMAIN)
    r = await intake.client.post("/webhooks/shopify", content=raw, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert await intake.deliveries() == []


async def test_an_admin_refund_is_one_event_with_its_successful_money(intake: Intake) -> None:
    order = await shopify_order(intake)
    refund = shopify_refund()
    failed = {**refund["transactions"][0], "id": 2, "status": "failure", "amount": "50.00"}
    refund["transactions"].append(failed)  # declined by the gateway: nothing went back
    await deliver(intake, "refunds/create", refund, "rf-1")
    await deliver(intake, "refunds/create", refund, "rf-1-again")
    await settled(intake, 3)
    case = uuid.uuid4()
    ours = shopify_refund(id=509562970, note=f"Refund for aftersales case {case}")
    await deliver(intake, "refunds/create", ours, "rf-2")

    events = await intake.tap.wait_for("order.refund_recorded", count=2, order_id=order["id"])
    by_id = {e.payload["storefront_refund_id"]: e for e in events}
    assert len(events) == 2 and set(by_id) == {"509562969", "509562970"}
    admin = by_id["509562969"].payload
    assert (admin["amount"], admin["currency"]) == ("209.00", "USD")
    assert (admin["source"], admin["case_id"]) == ("storefront_admin", None)
    assert admin["refunded_at"] == "2016-06-20T17:35:06Z"
    # a refund aftersales made for its case comes back named by it
    case_refund = by_id["509562970"].payload
    assert (case_refund["source"], case_refund["case_id"]) == ("aftersales", str(case))


async def test_a_refund_with_no_money_back_is_noted_not_published(intake: Intake) -> None:
    order = await shopify_order(intake)
    refund = shopify_refund()
    refund["transactions"][0]["status"] = "failure"
    await deliver(intake, "refunds/create", refund, "rf-none")
    await settled(intake, 2)
    timeline = (await intake.order(order["id"]))["timeline"]
    assert "refund_without_money" in [e["kind"] for e in timeline]
    assert intake.tap.of_type("order.refund_recorded") == []


async def test_woocommerce_refunds_are_published_once_each(intake: Intake) -> None:
    shop_id = await create_shop(
        intake.client,
        intake.h,
        platform="woocommerce",
        domain="example.com",
        secret=WOO_SECRET,
        skus=("Bar3",),
    )
    order = json.loads(woo_order_body())

    async def post(refunds: list[dict[str, Any]], delivery: str) -> None:
        raw = json.dumps({**order, "refunds": refunds}).encode()
        headers = woo_headers(raw, WOO_SECRET, topic="order.updated", delivery_id=delivery)
        url = f"/webhooks/woocommerce/{shop_id}"
        r = await intake.client.post(url, content=raw, headers=headers)
        assert (r.status_code, r.json()["status"]) == (200, "accepted"), r.text

    first = {"id": 726, "reason": "Scratched on arrival", "total": "-10.00"}
    await post([first], "woo-1")
    await settled(intake, 1)
    await post([first], "woo-2")  # the order changed again: the same refund, listed again
    await settled(intake, 2)
    case = uuid.uuid4()
    await post([first, {"id": 731, "reason": f"case {case}", "total": "-5.50"}], "woo-3")

    [stored] = await intake.orders(shop_id=shop_id)
    events = await intake.tap.wait_for("order.refund_recorded", count=2, order_id=stored["id"])
    by_id = {e.payload["storefront_refund_id"]: e.payload for e in events}
    assert len(events) == 2 and set(by_id) == {"726", "731"}
    assert (by_id["726"]["amount"], by_id["726"]["currency"]) == ("10.00", "USD")
    assert (by_id["726"]["source"], by_id["726"]["case_id"]) == ("storefront_admin", None)
    assert (by_id["731"]["source"], by_id["731"]["case_id"]) == ("aftersales", str(case))
    assert by_id["731"]["amount"] == "5.50"
