"""Shopify's calculated query cost: the fake computes it as Shopify documents it and
refuses what Shopify refuses; every query the write-back sends stays under the limit,
and an order with more than a page of anything is still fulfilled whole."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dropship_common.http import OutboundPolicy, make_client
from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin
from dropship_testkit.fakes.shopify_cost import MAX_QUERY_COST, QueryError, query_cost
from order_intake.credits import shopify as credits
from order_intake.credits import shopify_payment
from order_intake.fulfilment import shopify
from order_intake.fulfilment.base import FulfilmentRequest, ShipmentLine, ShopAccess
from order_intake.fulfilment.shopify import ShopifyFulfilment

HOST = "s.myshopify.com"
UNTHROTTLED: dict[str, Any] = {"maximum_available": 1e9, "restore_rate": 1e9}

# the first query of the write-back as it was: 50 fulfillment orders of 250 line items
OLD_ORDER_QUERY = """
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
"""


@pytest.fixture
async def net() -> AsyncIterator[FakeNetwork]:
    network = FakeNetwork()
    yield network
    await network.aclose()


def plugin(net: FakeNetwork, fake: FakeShopifyAdmin) -> ShopifyFulfilment:
    async def no_sleep(_seconds: float) -> None:
        return None

    net.add(HOST, fake)
    policy = OutboundPolicy(allowed_hosts={HOST}, allowed_schemes=frozenset({"https"}))
    client = make_client(policy, base_url=f"https://{HOST}", transport=net, sleep=no_sleep)
    access = ShopAccess(uuid.uuid4(), "shopify", HOST, {"access_token": "tok"})
    return ShopifyFulfilment(client, access)


def request(
    lines: dict[int, int], numbers: tuple[str, ...], *, may_exist: bool = False
) -> FulfilmentRequest:
    return FulfilmentRequest(
        fulfilment_id=uuid.uuid4(),
        order_external_id="900",
        carrier="China Post",
        tracking_numbers=numbers,
        tracking_urls=tuple(f"https://track.example/{n}" for n in numbers),
        lines=tuple(ShipmentLine(str(i), q, f"item {i}") for i, q in lines.items()),
        completes_order=True,
        shipped_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        may_exist=may_exist,
    )


async def post(net: FakeNetwork, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=net, base_url=f"https://{HOST}") as client:
        response = await client.post(
            "/admin/api/2026-10/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": "tok"},
        )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# --- the calculator ----------------------------------------------------------------------


def test_cost_rules_as_documented() -> None:
    assert query_cost("{ shop { id name } }") == 1  # an object 1, scalars 0
    nested = """{ products(first: 10) { edges { node { title
        variants(first: 5) { edges { node { price } } } } } } }"""
    assert query_cost(nested) == 2 + 10 * (1 + 2 + 5 * 1)  # nested connections multiply
    by_variable = """query Q($n: Int = 3) { orders(first: $n) { nodes { ...F } } }
        fragment F on Order { id lineItems(last: 2) { nodes { id } } }"""
    assert query_cost(by_variable) == 2 + 3 * (1 + 2 + 2)
    assert query_cost(by_variable, {"n": 10}) == 2 + 10 * (1 + 2 + 2)
    union = """{ node(id: "x") { id ... on Order { customer { id } }
        ... on Product { a: featuredImage { id } b: featuredImage { id } } } }"""
    assert query_cost(union) == 1 + 2  # the maximum of the possible selections
    mutation = 'mutation { tagsAdd(id: "x", tags: ["a"]) { node { id } userErrors { field } } }'
    assert query_cost(mutation) == 10 + 1 + 1
    with pytest.raises(QueryError, match="first or last"):
        query_cost("{ orders { nodes { id } } }")


def test_the_old_write_back_query_costs_many_thousands() -> None:
    assert query_cost(OLD_ORDER_QUERY, {"id": "gid://shopify/Order/900"}) > 25 * MAX_QUERY_COST


@pytest.mark.parametrize(
    "query",
    shopify.QUERIES + credits.QUERIES + shopify_payment.QUERIES,
    ids=lambda q: q.split("(")[0].split()[1],
)
def test_every_query_of_the_write_back_stays_under_the_limit(query: str) -> None:
    assert query_cost(query) <= MAX_QUERY_COST


# --- the fake ----------------------------------------------------------------------------


async def test_the_fake_refuses_the_old_query_before_running_it(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok")
    fake.add_order(900, {11: 2})
    net.add(HOST, fake)
    body = await post(net, OLD_ORDER_QUERY, {"id": "gid://shopify/Order/900"})
    [error] = body["errors"]
    requested = query_cost(OLD_ORDER_QUERY)
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert (error["extensions"]["cost"], error["extensions"]["maxCost"]) == (requested, 1000)
    assert "data" not in body
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == requested
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000  # nothing was charged
    assert fake.refused == 1


async def test_the_fake_charges_the_actual_cost_and_says_so_on_every_answer(
    net: FakeNetwork,
) -> None:
    now = [100.0]
    fake = FakeShopifyAdmin("tok", plan="plus", clock=lambda: now[0])
    fake.add_order(900, {11: 2})
    net.add(HOST, fake)
    body = await post(net, shopify.FULFILLMENT_ORDERS_QUERY, {"id": "gid://shopify/Order/900"})
    cost = body["extensions"]["cost"]
    # one fulfillment order of one line item came back: order 1 + connection 2 +
    # (fulfillment order 1, assignedLocation 1, location 1, connection 2, item 1 + 1)
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (278, 1 + 2 + 7)
    assert cost["throttleStatus"] == {
        "maximumAvailable": 20_000,
        "currentlyAvailable": 20_000 - 10,
        "restoreRate": 1_000,
    }
    missing = await post(net, shopify.FULFILLMENT_ORDERS_QUERY, {"id": "gid://shopify/Order/1"})
    assert missing["data"] == {"order": None}
    assert missing["extensions"]["cost"]["actualQueryCost"] == 0


async def test_the_fake_throttles_by_the_plans_bucket(net: FakeNetwork) -> None:
    now = [100.0]
    fake = FakeShopifyAdmin("tok", clock=lambda: now[0])  # standard: 2,000 at 100/s
    fake.add_order(900, {11: 2})
    net.add(HOST, fake)
    # 250 fulfillment orders: each answer costs what it asks for, 1 + 2 + 250
    query = "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 250) { nodes { id } } } }"
    fake.orders["gid://shopify/Order/900"].fulfillment_orders *= 250
    answers = [await post(net, query, {"id": "gid://shopify/Order/900"}) for _ in range(8)]
    assert [a["extensions"]["cost"]["actualQueryCost"] for a in answers[:7]] == [253] * 7
    assert answers[7]["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert answers[7]["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 2000,
        "currentlyAvailable": 2000 - 7 * 253,  # 229
        "restoreRate": 100,
    }
    now[0] += 0.23  # 23 points restored: one short
    assert "errors" in await post(net, query, {"id": "gid://shopify/Order/900"})
    now[0] += 1.0
    assert "data" in await post(net, query, {"id": "gid://shopify/Order/900"})


async def test_the_fake_recognises_operations_by_their_root_fields(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok")
    fake.add_order(900, {11: 2})
    net.add(HOST, fake)
    query = """query($id: ID!) { fulfillmentCreate: order(id: $id) { id } }
        # fulfillmentCreate(fulfillment: {})"""
    body = await post(net, query, {"id": "gid://shopify/Order/900"})
    assert body["data"] == {"fulfillmentCreate": {"id": "gid://shopify/Order/900"}}
    assert [c["operation"] for c in fake.calls] == ["order"]
    assert fake.fulfillments(900) == []
    wrong = await post(net, '{ order(id: "gid://shopify/Order/900") { nope } }', {})
    assert wrong["errors"][0]["extensions"]["code"] == "undefinedField"


async def test_the_fake_serves_the_oldest_supported_version_for_an_unsupported_one(
    net: FakeNetwork,
) -> None:
    fake = FakeShopifyAdmin("tok", supported_versions=("2026-07", "2026-04", "2026-10"))
    net.add(HOST, fake)
    async with httpx.AsyncClient(transport=net, base_url=f"https://{HOST}") as client:
        served = {}
        for asked in ("2025-01", "2026-07"):
            response = await client.post(
                f"/admin/api/{asked}/graphql.json",
                json={"query": '{ order(id: "x") { id } }'},
                headers={"X-Shopify-Access-Token": "tok"},
            )
            served[asked] = response.headers["x-shopify-api-version"]
    assert served == {"2025-01": "2026-04", "2026-07": "2026-07"}


# --- the write-back against it -----------------------------------------------------------


async def test_an_order_with_more_than_a_page_of_everything_is_fulfilled_whole(
    net: FakeNetwork,
) -> None:
    fake = FakeShopifyAdmin("tok", **UNTHROTTLED)
    # 30 line items at one location (more than a page of 25) and 6 more locations
    # (7 fulfillment orders: more than a page of 5)
    lines = {i: 1 for i in range(1, 37)}
    locations = {i: f"gid://shopify/Location/{i}" for i in range(31, 37)}
    fake.add_order(900, lines, locations=locations)
    outcome = await plugin(net, fake).fulfil(request(lines, ("RR123456785CN",)))
    assert outcome.result == "created"
    fulfilled = sorted(i["lineItemId"] for f in fake.fulfillments(900) for i in f["lineItems"])
    assert fulfilled == sorted(f"gid://shopify/LineItem/{i}" for i in lines)
    assert len(fake.operations("order")) == 2  # fulfillment orders: two pages
    assert len(fake.operations("fulfillmentOrder")) == 1  # the 26th line item onwards
    assert max(c["requested"] for c in fake.calls) <= MAX_QUERY_COST
    assert fake.refused == 0


async def test_an_earlier_fulfilment_is_found_beyond_the_first_pages(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok", **UNTHROTTLED)
    fake.add_order(900, {11: 31})
    writer = plugin(net, fake)
    for n in range(30):  # 30 fulfilments by others: more than a page of 25
        await writer.fulfil(request({11: 1}, (f"OTHER{n:04d}",)))
    # ours carries 12 numbers, ours last: beyond the first 10 tracking numbers
    ours = (*(f"PARCEL{n:04d}" for n in range(11)), "RR123456785CN")
    assert (await writer.fulfil(request({11: 1}, ours))).result == "created"
    fake.calls.clear()
    again = await writer.fulfil(request({11: 1}, ("RR123456785CN",), may_exist=True))
    assert again.result == "existing"
    assert again.external_ref == fake.fulfillments(900)[-1]["id"]
    assert [c["operation"] for c in fake.calls] == [
        "order",
        "fulfillmentOrder",
        "fulfillmentOrder",
        "fulfillment",
    ]
    assert max(c["requested"] for c in fake.calls) <= MAX_QUERY_COST


async def test_no_input_array_over_250_items(net: FakeNetwork) -> None:
    fake = FakeShopifyAdmin("tok", **UNTHROTTLED)
    lines = {i: 1 for i in range(1, 261)}  # 260 lines at one location
    fake.add_order(900, lines)
    net.add(HOST, fake)
    fo = fake.orders["gid://shopify/Order/900"].fulfillment_orders[0]
    too_many = {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": fo.id,
                "fulfillmentOrderLineItems": [{"id": i.id, "quantity": 1} for i in fo.items],
            }
        ]
    }
    body = await post(net, shopify.FULFILLMENT_CREATE, {"fulfillment": too_many})
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert fake.fulfillments(900) == []
    outcome = await plugin(net, fake).fulfil(request(lines, ("RR123456785CN",)))
    assert outcome.result == "created"
    assert [len(f["lineItems"]) for f in fake.fulfillments(900)] == [250, 10]
