"""The storefront plugins: request building and answer handling (pure), then each plugin
against its fake in-process (no database)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dropship_common.http import OutboundPolicy, make_client
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin, FakeWooCommerce
from order_intake.fulfilment import shopify, woocommerce
from order_intake.fulfilment.base import (
    FulfilmentRequest,
    ShipmentLine,
    ShopAccess,
    StorefrontRejected,
    StorefrontUnavailable,
)
from order_intake.fulfilment.plugins import plugin_for, writes_back
from order_intake.fulfilment.routes import parse_routes, route_for
from order_intake.fulfilment.shopify import ShopifyFulfilment
from order_intake.fulfilment.woocommerce import WooCommerceFulfilment
from order_intake.fulfilment.worker import backoff

NUMBER, URL = "RR123456785CN", "https://track.example/RR123456785CN"
SHIPPED = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def request(
    lines: tuple[ShipmentLine, ...] = (ShipmentLine("11", 2, "Mug"), ShipmentLine("12", 1, "Cup")),
    *,
    numbers: tuple[str, ...] = (NUMBER,),
    complete: bool = True,
    may_exist: bool = False,
) -> FulfilmentRequest:
    return FulfilmentRequest(
        fulfilment_id=uuid.uuid4(),
        order_external_id="900",
        carrier="China Post",
        tracking_numbers=numbers,
        tracking_urls=tuple(f"https://track.example/{n}" for n in numbers),
        lines=lines,
        completes_order=complete,
        shipped_at=SHIPPED,
        may_exist=may_exist,
    )


# --- Shopify: pure parts ------------------------------------------------------------------

ORDER: dict[str, Any] = {
    "id": "gid://shopify/Order/900",
    "fulfillmentOrders": {
        "nodes": [
            {
                "id": "gid://shopify/FulfillmentOrder/1",
                "status": "OPEN",
                "assignedLocation": {"location": {"id": "gid://shopify/Location/1"}},
                "lineItems": {
                    "nodes": [
                        {
                            "id": "gid://shopify/FulfillmentOrderLineItem/101",
                            "remainingQuantity": 2,
                            "lineItem": {"id": "gid://shopify/LineItem/11"},
                        },
                        {
                            "id": "gid://shopify/FulfillmentOrderLineItem/102",
                            "remainingQuantity": 0,
                            "lineItem": {"id": "gid://shopify/LineItem/13"},
                        },
                    ]
                },
            },
            {
                "id": "gid://shopify/FulfillmentOrder/2",
                "status": "OPEN",
                "assignedLocation": {"location": {"id": "gid://shopify/Location/2"}},
                "lineItems": {
                    "nodes": [
                        {
                            "id": "gid://shopify/FulfillmentOrderLineItem/201",
                            "remainingQuantity": 1,
                            "lineItem": {"id": "gid://shopify/LineItem/12"},
                        }
                    ]
                },
            },
            {
                "id": "gid://shopify/FulfillmentOrder/3",
                "status": "CLOSED",
                "assignedLocation": {"location": {"id": "gid://shopify/Location/1"}},
                "lineItems": {
                    "nodes": [
                        {
                            "id": "gid://shopify/FulfillmentOrderLineItem/301",
                            "remainingQuantity": 5,
                            "lineItem": {"id": "gid://shopify/LineItem/12"},
                        }
                    ]
                },
            },
        ]
    },
    "fulfillments": [
        {
            "id": "gid://shopify/Fulfillment/7",
            "status": "CANCELLED",
            "trackingInfo": [{"company": "X", "number": NUMBER, "url": None}],
        },
        {
            "id": "gid://shopify/Fulfillment/8",
            "status": "SUCCESS",
            "trackingInfo": [{"company": "X", "number": "OTHER1234", "url": None}],
        },
    ],
}


def test_plan_groups_open_items_by_location_up_to_the_line_quantity() -> None:
    items = shopify.open_items(ORDER)
    assert [i.item_id.rsplit("/", 1)[1] for i in items] == ["101", "201"]  # not 0, not CLOSED
    plans = shopify.plan(items, request().lines)
    assert plans == {
        "gid://shopify/Location/1": [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
                "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/101", "quantity": 2}
                ],
            }
        ],
        "gid://shopify/Location/2": [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2",
                "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/201", "quantity": 1}
                ],
            }
        ],
    }


def test_plan_takes_only_the_covered_lines_and_no_more_than_remains() -> None:
    plans = shopify.plan(shopify.open_items(ORDER), (ShipmentLine("11", 5, "Mug"),))
    [only] = plans.values()
    assert only[0]["fulfillmentOrderLineItems"] == [
        {"id": "gid://shopify/FulfillmentOrderLineItem/101", "quantity": 2}
    ]
    assert shopify.plan(shopify.open_items(ORDER), (ShipmentLine("13", 1, "Gone"),)) == {}


def test_existing_fulfilment_ignores_cancelled_ones() -> None:
    assert shopify.existing_fulfilment(ORDER, [NUMBER]) is None
    assert shopify.existing_fulfilment(ORDER, ["other1234"]) == "gid://shopify/Fulfillment/8"


def test_fulfillment_input_for_one_and_for_several_parcels() -> None:
    plan = [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}]
    one = shopify.fulfillment_input(request(), plan)
    assert one == {
        "lineItemsByFulfillmentOrder": plan,
        "trackingInfo": {"company": "China Post", "number": NUMBER, "url": URL},
        "notifyCustomer": False,
    }
    two = shopify.fulfillment_input(request(numbers=(NUMBER, "LX123456785CN")), plan)
    assert two["trackingInfo"] == {
        "company": "China Post",
        "numbers": [NUMBER, "LX123456785CN"],
        "urls": [URL, "https://track.example/LX123456785CN"],
    }


def test_gids() -> None:
    assert shopify.order_gid("450789469") == "gid://shopify/Order/450789469"
    assert shopify.order_gid("gid://shopify/Order/1") == "gid://shopify/Order/1"
    assert shopify.line_item_gid("466157049") == "gid://shopify/LineItem/466157049"


def test_throttle_wait_from_the_cost_extension() -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 752,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000.0,
                    "currentlyAvailable": 652,
                    "restoreRate": 50.0,
                },
            }
        },
    }
    assert shopify.throttle_wait(throttled) == pytest.approx(2.0)
    assert shopify.throttle_wait({"data": {"order": None}}) is None
    assert shopify.throttle_wait({"errors": [{"message": "Throttled"}]}) == 1.0


# --- WooCommerce: pure parts --------------------------------------------------------------


def test_tracking_payload_predefined_or_custom_provider() -> None:
    providers = woocommerce.provider_names(
        {"Global": {"DHL": "https://dhl/%1$s"}, "United States": {"USPS": "https://usps/%1$s"}}
    )
    assert providers == {"dhl": "DHL", "usps": "USPS"}
    assert woocommerce.tracking_payload("dhl", "JD0146", URL, SHIPPED.date(), providers) == {
        "tracking_number": "JD0146",
        "date_shipped": "2026-12-01",
        "tracking_provider": "DHL",
    }
    assert woocommerce.tracking_payload("Yun Express", NUMBER, URL, SHIPPED.date(), providers) == {
        "tracking_number": NUMBER,
        "date_shipped": "2026-12-01",
        "custom_tracking_provider": "Yun Express",
        "custom_tracking_link": URL,
    }


def test_note_and_status_payloads() -> None:
    assert woocommerce.note_payload("China Post", [NUMBER], [URL]) == {
        "note": f"Shipped; the buyer was sent the tracking.\nChina Post: {NUMBER} ({URL})",
        "customer_note": False,  # a customer note is e-mailed to the buyer by WooCommerce
    }
    assert woocommerce.status_payload(True) == {"status": "completed"}
    assert woocommerce.status_payload(False) is None  # a partial shipment stays processing


def test_noted_needs_every_number() -> None:
    notes = [{"note": f"China Post: {NUMBER}"}, {"note": "Order status changed"}]
    assert woocommerce.noted(notes, [NUMBER])
    assert not woocommerce.noted(notes, [NUMBER, "LX123456785CN"])
    assert not woocommerce.noted([], [NUMBER])


# --- plugins, routes, backoff ---------------------------------------------------------------


def test_plugins_by_platform() -> None:
    assert plugin_for("shopify") is ShopifyFulfilment
    assert plugin_for("woocommerce") is WooCommerceFulfilment
    assert writes_back("shopify") and writes_back("woocommerce")
    assert not writes_back("custom") and not writes_back("unknown")


def test_routes_send_a_shop_elsewhere_only_when_configured() -> None:
    routes = parse_routes("shop.myshopify.com=http://127.0.0.1:9001/, woo.example=https://h:1")
    r = route_for("SHOP.myshopify.com", routes)
    assert (r.base_url, r.host, r.scheme) == ("http://127.0.0.1:9001", "127.0.0.1", "http")
    d = route_for("other.myshopify.com", routes)
    assert (d.base_url, d.host, d.scheme) == (
        "https://other.myshopify.com",
        "other.myshopify.com",
        "https",
    )
    with pytest.raises(ValueError):
        parse_routes("shop=ftp://x")


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1, lambda: 1.0).total_seconds() == 1.0
    assert backoff(3, lambda: 1.0).total_seconds() == 16.0
    assert backoff(3, lambda: 0.0).total_seconds() == 12.0
    assert backoff(40, lambda: 1.0).total_seconds() == 3 * 3600


# --- against the fakes -------------------------------------------------------------------


@pytest.fixture
async def net() -> AsyncIterator[FakeNetwork]:
    network = FakeNetwork()
    yield network
    await network.aclose()


def client(net: FakeNetwork, host: str) -> httpx.AsyncClient:
    async def no_sleep(_seconds: float) -> None:
        return None

    policy = OutboundPolicy(allowed_hosts={host}, allowed_schemes=frozenset({"https"}))
    return make_client(policy, base_url=f"https://{host}", transport=net, sleep=no_sleep)


def shopify_plugin(
    net: FakeNetwork, fake: FakeShopifyAdmin, token: str = "tok"
) -> ShopifyFulfilment:
    net.add("s.myshopify.com", fake)
    access = ShopAccess(uuid.uuid4(), "shopify", "s.myshopify.com", {"access_token": token})
    return ShopifyFulfilment(client(net, "s.myshopify.com"), access)


async def test_shopify_fulfils_per_location_and_then_finds_it_done(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok")
    fake.add_order(900, {11: 2, 12: 1}, locations={12: "gid://shopify/Location/2"})
    plugin = shopify_plugin(net, fake)
    outcome = await plugin.fulfil(request())
    assert outcome.result == "created"
    assert len(fake.fulfillments(900)) == 2  # one fulfillmentCreate per location
    again = await plugin.fulfil(request(may_exist=True))
    assert again.result == "existing" and len(fake.fulfillments(900)) == 2


async def test_shopify_lines_fulfilled_elsewhere_are_nothing_to_do(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok")
    fake.add_order(900, {11: 2, 12: 1})
    plugin = shopify_plugin(net, fake)
    await plugin.fulfil(request(numbers=("MANUAL12345",)))
    outcome = await plugin.fulfil(request())
    assert outcome.result == "nothing_to_do"
    assert len(fake.fulfillments(900)) == 1


async def test_shopify_user_errors_and_bad_token_are_refusals(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok")
    fake.add_order(900, {11: 2, 12: 1})
    with pytest.raises(StorefrontRejected, match="credentials were refused"):
        await shopify_plugin(net, fake, token="wrong").fulfil(request())
    with pytest.raises(StorefrontRejected, match="not found at Shopify"):
        await shopify_plugin(net, fake).fulfil(
            FulfilmentRequest(**{**request().__dict__, "order_external_id": "404"})
        )


async def test_shopify_429_is_retried_by_the_client_and_5xx_reschedules(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok")
    fake.add_order(900, {11: 2, 12: 1})
    plugin = shopify_plugin(net, fake)
    fake.fail_next("query", "http_429")  # the read is safe to repeat: retried at once
    fake.fail_next("mutation", "http_500")  # the write is not: the worker reschedules
    with pytest.raises(StorefrontUnavailable, match="HTTP 500"):
        await plugin.fulfil(request())
    assert len(fake.operations("order")) == 2
    assert (await plugin.fulfil(request(may_exist=True))).result == "created"


async def test_shopify_long_throttle_is_rescheduled_with_its_wait(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok", maximum_available=1000, restore_rate=0.5)
    fake.add_order(900, {11: 2, 12: 1})
    fake.fail_next("query", "throttled")
    with pytest.raises(StorefrontUnavailable) as info:
        await shopify_plugin(net, fake).fulfil(request())
    # the first read costs 278 points, the bucket holds half: 139 points at 0.5/s
    assert info.value.retry_after == pytest.approx(278.0, abs=0.5)


async def test_woocommerce_lost_tracking_answer_is_found_before_resending(
    net: FakeNetwork,
) -> None:
    fake = FakeWooCommerce("ck", "cs")
    fake.add_order(900)
    net.add("w.example", fake)
    access = ShopAccess(
        uuid.uuid4(),
        "woocommerce",
        "w.example",
        {"consumer_key": "ck", "consumer_secret": "cs", "shipment_tracking": True},
    )
    plugin = WooCommerceFulfilment(client(net, "w.example"), access)
    fake.fail_next("trackings", "drop_response")
    with pytest.raises(StorefrontUnavailable, match="outcome unknown"):
        await plugin.fulfil(request(complete=False))
    outcome = await plugin.fulfil(request(complete=False, may_exist=True))
    assert outcome.result == "created" and outcome.external_ref is not None
    assert outcome.external_ref.startswith("note:")  # the tracking item existed already
    store = fake.orders[900]
    assert len(store["trackings"]) == 1 and len(store["notes"]) == 1
    assert store["status"] == "processing"


async def test_woocommerce_wrong_secret_is_a_refusal(net: FakeNetwork) -> None:
    fake = FakeWooCommerce("ck", "cs", shipment_tracking=False)
    fake.add_order(900)
    net.add("w.example", fake)
    access = ShopAccess(
        uuid.uuid4(), "woocommerce", "w.example", {"consumer_key": "ck", "consumer_secret": "x"}
    )
    with pytest.raises(StorefrontRejected, match="credentials were refused"):
        await WooCommerceFulfilment(client(net, "w.example"), access).fulfil(request())
    missing = ShopAccess(uuid.uuid4(), "woocommerce", "w.example", {})
    with pytest.raises(StorefrontRejected, match="consumer_key"):
        await WooCommerceFulfilment(client(net, "w.example"), missing).fulfil(request())


async def test_woocommerce_flagged_extension_that_is_missing_is_a_refusal(
    net: FakeNetwork,
) -> None:
    fake = FakeWooCommerce("ck", "cs", shipment_tracking=False)
    fake.add_order(900)
    net.add("w.example", fake)
    creds = {"consumer_key": "ck", "consumer_secret": "cs", "shipment_tracking": True}
    access = ShopAccess(uuid.uuid4(), "woocommerce", "w.example", creds)
    with pytest.raises(StorefrontRejected, match="HTTP 404"):
        await WooCommerceFulfilment(client(net, "w.example"), access).fulfil(request())
    assert fake.orders[900]["notes"] == []
    # told there is none: no probing
    net.requests.clear()
    off = ShopAccess(
        uuid.uuid4(), "woocommerce", "w.example", {**creds, "shipment_tracking": False}
    )
    await WooCommerceFulfilment(client(net, "w.example"), off).fulfil(request())
    assert len(fake.orders[900]["notes"]) == 1
    assert [(r.method, r.url.path) for r in net.requests] == [
        ("POST", "/wp-json/wc/v3/orders/900/notes"),
        ("PUT", "/wp-json/wc/v3/orders/900"),
    ]
