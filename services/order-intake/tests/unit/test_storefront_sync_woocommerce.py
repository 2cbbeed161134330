"""The WooCommerce side of reconciliation against the fake store, and the fake's own
documented rules (a client that misreads the docs must fail here first)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from dropship_testkit.fakes import FakeNetwork, FakeWooCommerce
from dropship_testkit.storefront import woo_order_body
from order_intake.config import OrderIntakeSettings
from order_intake.fulfilment.base import ShopAccess, StorefrontRejected, StorefrontUnavailable
from order_intake.storefront_sync.base import WebhookTarget
from order_intake.storefront_sync.woocommerce import WooCommerceApi
from order_intake.webhooks.topics import validate_body

HOST = "w.example"
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWooCommerce]:
    yield FakeWooCommerce("ck", "cs")


@pytest.fixture
async def http(fake: FakeWooCommerce) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=FakeNetwork({HOST: fake}), base_url=f"https://{HOST}", auth=("ck", "cs")
    ) as client:
        yield client


def api(fake: FakeWooCommerce, http: httpx.AsyncClient) -> WooCommerceApi:
    access = ShopAccess(
        uuid.uuid4(), "woocommerce", HOST, {"consumer_key": "ck", "consumer_secret": "cs"}
    )
    return WooCommerceApi(http, access, OrderIntakeSettings())


def order(order_id: int) -> dict[str, object]:
    body: dict[str, object] = json.loads(woo_order_body())
    return {**body, "id": order_id}


async def test_changed_orders_are_listed_as_webhook_bodies(
    fake: FakeWooCommerce, http: httpx.AsyncClient
) -> None:
    fake.put_order(order(1), modified=NOW - dt.timedelta(hours=2))  # before the window
    fake.put_order(order(2), modified=NOW - dt.timedelta(minutes=5))
    pages = [p async for p in api(fake, http).changed_orders(NOW - dt.timedelta(minutes=30))]
    [[found]] = [page for page in pages if page]  # the trash listing is empty
    assert found.external_id == "2" and found.topic == "order.updated"
    assert found.updated_at == NOW - dt.timedelta(minutes=5)
    validate_body("woocommerce", found.topic, found.body)  # what the webhook intake takes


async def test_orderby_modified_is_not_documented_and_is_refused(http: httpx.AsyncClient) -> None:
    r = await http.get("/wp-json/wc/v3/orders", params={"orderby": "modified"})
    assert r.status_code == 400 and r.json()["code"] == "rest_invalid_param"


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": "101"},
        {"per_page": "0"},
        {"page": "0"},
        {"modified_after": "yesterday"},
        {"dates_are_gmt": "maybe"},
        {"order": "up"},
    ],
)
async def test_invalid_list_parameters_are_refused(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    r = await http.get("/wp-json/wc/v3/orders", params=params)
    assert r.status_code == 400 and r.json()["code"] == "rest_invalid_param"


async def test_without_dates_are_gmt_the_site_time_is_compared(
    fake: FakeWooCommerce, http: httpx.AsyncClient
) -> None:
    fake.put_order(order(2), modified=NOW - dt.timedelta(minutes=5))
    since = (NOW - dt.timedelta(minutes=30)).replace(tzinfo=None).isoformat()
    gmt = await http.get(
        "/wp-json/wc/v3/orders", params={"modified_after": since, "dates_are_gmt": "true"}
    )
    local = await http.get("/wp-json/wc/v3/orders", params={"modified_after": since})
    assert [o["id"] for o in gmt.json()] == [2]
    assert local.json() == []  # the site is 5 hours behind GMT: a GMT bound misses it
    # an offset in the bound is turned into site time, even against the GMT dates
    zulu = await http.get(
        "/wp-json/wc/v3/orders", params={"modified_after": since + "Z", "dates_are_gmt": "true"}
    )
    assert [o["id"] for o in zulu.json()] == [2]  # 5 h earlier: more, not fewer
    bound = (NOW - dt.timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    zulu = await http.get(
        "/wp-json/wc/v3/orders", params={"modified_after": bound + "+00:00", "dates_are_gmt": "1"}
    )
    assert [o["id"] for o in zulu.json()] == [2]  # 11:59 read as 06:59: 11:55 passes


async def test_pages_carry_totals_and_links(fake: FakeWooCommerce, http: httpx.AsyncClient) -> None:
    for n in range(1, 26):
        fake.put_order(order(n), modified=NOW)
    r = await http.get("/wp-json/wc/v3/orders", params={"orderby": "id", "order": "asc", "page": 2})
    assert [o["id"] for o in r.json()] == list(range(11, 21))  # 10 a page by default
    assert r.headers["x-wp-total"] == "25" and r.headers["x-wp-totalpages"] == "3"
    assert 'rel="next"' in r.headers["link"] and 'rel="prev"' in r.headers["link"]


async def test_webhook_rules(fake: FakeWooCommerce, http: httpx.AsyncClient) -> None:
    r = await http.post("/wp-json/wc/v3/webhooks", json={"topic": "order.updated"})
    assert r.json()["code"] == "woocommerce_rest_webhook_invalid_delivery_url"
    r = await http.post(
        "/wp-json/wc/v3/webhooks", json={"topic": "order.shipped", "delivery_url": "https://x"}
    )
    assert r.json()["code"] == "woocommerce_rest_webhook_invalid_topic"
    r = await http.post(
        "/wp-json/wc/v3/webhooks",
        json={"topic": "order.updated", "delivery_url": "https://x/h", "secret": "s3cret"},
    )
    assert r.status_code == 201 and r.json()["status"] == "active"
    assert "secret" not in r.json()  # write-only
    hook_id = r.json()["id"]
    for _ in range(4):
        fake.delivery_failed(hook_id)
    assert fake.webhooks[hook_id]["status"] == "active"
    fake.delivery_failed(hook_id)  # the fifth failure in a row
    assert fake.webhooks[hook_id]["status"] == "disabled"
    r = await http.get("/wp-json/wc/v3/webhooks", params={"status": "disabled"})
    assert [h["id"] for h in r.json()] == [hook_id]
    r = await http.put(f"/wp-json/wc/v3/webhooks/{hook_id}", json={"status": "on"})
    assert r.json()["code"] == "woocommerce_rest_webhook_invalid_status"
    r = await http.put("/wp-json/wc/v3/webhooks/9", json={"status": "active"})
    assert r.status_code == 400 and r.json()["code"] == "woocommerce_rest_webhook_invalid_id"
    # re-enabled, the failure count stays: the next failure disables it again
    r = await http.put(f"/wp-json/wc/v3/webhooks/{hook_id}", json={"status": "active"})
    assert r.json()["status"] == "active"
    fake.delivery_failed(hook_id)
    assert fake.webhooks[hook_id]["status"] == "disabled"


async def test_webhook_check_re_enables_ours_and_leaves_others_alone(
    fake: FakeWooCommerce, http: httpx.AsyncClient
) -> None:
    path = "/webhooks/woocommerce/abc"
    ours = {
        t: fake.add_webhook(t, f"https://old.host{path}", status="disabled")
        for t in ("order.created", "order.updated", "order.deleted")
    }
    other = fake.add_webhook("order.updated", "https://erp.example/hook", status="disabled")
    health = await api(fake, http).check_webhooks(WebhookTarget(None, path, "s"))
    assert health.status == "repaired" and len(health.repairs) == 3
    assert {fake.webhooks[i]["status"] for i in ours.values()} == {"active"}
    assert fake.webhooks[other]["status"] == "disabled"  # not ours


async def test_a_wrong_key_is_a_refusal(fake: FakeWooCommerce, http: httpx.AsyncClient) -> None:
    access = ShopAccess(
        uuid.uuid4(), "woocommerce", HOST, {"consumer_key": "ck", "consumer_secret": "x"}
    )
    http.auth = None
    with pytest.raises(StorefrontRejected, match="401"):
        await WooCommerceApi(http, access, OrderIntakeSettings()).check_webhooks(
            WebhookTarget(None, "/p", "s")
        )


async def test_current_order_is_the_webhook_body_or_none_when_deleted(
    fake: FakeWooCommerce, http: httpx.AsyncClient
) -> None:
    fake.put_order(order(5), modified=NOW)
    body = await api(fake, http).current_order("5")
    assert body is not None and json.loads(body)["id"] == 5
    validate_body("woocommerce", "order.updated", body)
    assert await api(fake, http).current_order("6") is None  # 404 invalid_id: no such order


async def test_current_order_another_404_or_a_5xx_is_not_a_deletion(
    fake: FakeWooCommerce,
) -> None:
    """WordPress's 404 ``rest_no_route`` (the REST API off, a wrong base URL) says nothing
    of the order; a 5xx means asking again later."""
    async with httpx.AsyncClient(
        transport=FakeNetwork({HOST: fake}), base_url=f"https://{HOST}/blog", auth=("ck", "cs")
    ) as elsewhere:
        with pytest.raises(StorefrontRejected, match="404"):
            await api(fake, elsewhere).current_order("6")
    fake.put_order(order(5), modified=NOW)
    fake.fail_next("order_read", *["http_500"] * 5)
    async with httpx.AsyncClient(
        transport=FakeNetwork({HOST: fake}), base_url=f"https://{HOST}", auth=("ck", "cs")
    ) as http:
        with pytest.raises(StorefrontUnavailable, match="500"):
            await api(fake, http).current_order("5")
