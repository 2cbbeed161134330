"""The shared Shopify Admin GraphQL client against the fake: it paces itself by the
cost Shopify reports, waits for a throttle no longer than the points need, and tells
when Shopify serves another API version. Time is a fake clock shared with the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin
from order_intake.fulfilment.base import StorefrontUnavailable
from order_intake.storefronts.shopify_admin import AdminClient, ShopBuckets

HOST = "s.myshopify.com"
ORDER = "gid://shopify/Order/900"
# requested and actual cost alike with five fulfillment orders: 1 + 2 + 5 = 8
FIVE = "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id } } } }"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def http() -> AsyncIterator[tuple[FakeNetwork, httpx.AsyncClient]]:
    net = FakeNetwork()
    async with httpx.AsyncClient(transport=net, base_url=f"https://{HOST}") as client:
        yield net, client
    await net.aclose()


def shop_with_five_locations(
    net: FakeNetwork,
    clock: Clock,
    *,
    maximum_available: float | None = None,
    restore_rate: float | None = None,
) -> FakeShopifyAdmin:
    fake = FakeShopifyAdmin(
        "tok", clock=clock, maximum_available=maximum_available, restore_rate=restore_rate
    )
    fake.add_order(900, {i: 1 for i in range(5)}, locations={i: f"L{i}" for i in range(5)})
    net.add(HOST, fake)
    return fake


def admin(client: httpx.AsyncClient, clock: Clock, api_version: str = "2026-10") -> AdminClient:
    return AdminClient(
        client,
        shop_key="shop-1",
        access_token="tok",
        api_version=api_version,
        buckets=ShopBuckets(),
        clock=clock,
        sleep=clock.sleep,
    )


async def test_calls_are_paced_by_the_bucket_shopify_reports(
    http: tuple[FakeNetwork, httpx.AsyncClient],
) -> None:
    net, client = http
    clock = Clock()
    fake = shop_with_five_locations(net, clock, maximum_available=20, restore_rate=2)
    shopify = admin(client, clock)
    for _ in range(2):
        await shopify.execute(FIVE, {"id": ORDER}, what="q", read_only=True)
    assert clock.sleeps == []  # 20 -> 12 -> 4 points left
    await shopify.execute(FIVE, {"id": ORDER}, what="q", read_only=True)
    assert clock.sleeps == [pytest.approx(2.0)]  # the 4 missing points at 2 a second
    assert fake.throttled == 0  # waited before, not refused


async def test_a_long_pacing_wait_is_rescheduled_unsent(
    http: tuple[FakeNetwork, httpx.AsyncClient],
) -> None:
    net, client = http
    clock = Clock()
    fake = shop_with_five_locations(net, clock, maximum_available=12, restore_rate=0.1)
    shopify = admin(client, clock)
    await shopify.execute(FIVE, {"id": ORDER}, what="q", read_only=True)  # 4 left
    with pytest.raises(StorefrontUnavailable) as info:
        await shopify.execute(FIVE, {"id": ORDER}, what="q", read_only=True)
    assert info.value.retry_after == pytest.approx(40.0)  # 4 points at 0.1 a second
    assert len(fake.calls) == 1 and clock.sleeps == []


async def test_throttled_waits_for_the_points_it_needs_and_no_longer(
    http: tuple[FakeNetwork, httpx.AsyncClient],
) -> None:
    net, client = http
    clock = Clock()
    fake = shop_with_five_locations(net, clock, restore_rate=4)
    fake.fail_next("query", "throttled")  # the bucket holds half the cost: 4 of 8
    data = await admin(client, clock).execute(FIVE, {"id": ORDER}, what="q", read_only=True)
    assert len(data["order"]["fulfillmentOrders"]["nodes"]) == 5
    assert clock.sleeps == [pytest.approx(1.0)]  # (8 - 4) points at 4 a second
    assert fake.throttled == 1 and len(fake.calls) == 2


async def test_another_version_served_is_warned_and_counted_once(
    http: tuple[FakeNetwork, httpx.AsyncClient],
) -> None:
    net, client = http
    clock = Clock()
    fake = FakeShopifyAdmin("tok", supported_versions=("2026-04", "2026-07"), clock=clock)
    net.add(HOST, fake)
    labels = {"asked": "2025-01", "served": "2026-04"}
    before = REGISTRY.get_sample_value("shopify_api_version_mismatch_total", labels) or 0.0
    shopify = admin(client, clock, api_version="2025-01")
    with capture_logs() as logs:
        for _ in range(3):
            await shopify.execute(FIVE, {"id": ORDER}, what="q", read_only=True)
    assert {c["version"] for c in fake.calls} == {"2025-01"}
    warnings = [e for e in logs if e["event"] == "shopify_api_version_mismatch"]
    assert len(warnings) == 1
    assert (warnings[0]["asked"], warnings[0]["served"]) == ("2025-01", "2026-04")
    assert warnings[0]["log_level"] == "warning"
    after = REGISTRY.get_sample_value("shopify_api_version_mismatch_total", labels)
    assert after == before + 1


async def test_the_version_asked_for_when_supported_is_not_warned(
    http: tuple[FakeNetwork, httpx.AsyncClient],
) -> None:
    net, client = http
    clock = Clock()
    fake = FakeShopifyAdmin("tok", clock=clock)
    net.add(HOST, fake)
    with capture_logs() as logs:
        await admin(client, clock).execute(FIVE, {"id": ORDER}, what="q", read_only=True)
    assert [c["served"] for c in fake.calls] == [fake.calls[0]["version"]]
    assert not [e for e in logs if e["event"] == "shopify_api_version_mismatch"]
