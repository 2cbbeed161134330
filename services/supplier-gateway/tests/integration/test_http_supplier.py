"""Suppliers on our http protocol: we POST the order signed Standard-Webhooks style to
their URL (a fake supplier on a real port checks the signature), look it up after an
unknown outcome, and they answer at /v1/supplier/orders/{id}/accept|reject|ship with
their supplier key."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from dropship_testkit.fakes.http_supplier import FakeHttpSupplier
from dropship_testkit.server import serving
from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC

from ..unit.test_notice_and_customs import _order
from .cj_helpers import (
    FAST,
    attempts,
    detail,
    map_sku,
    placed,
    request_cancellation,
    supplier_order_of,
)

pytestmark = pytest.mark.integration


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@asynccontextmanager
async def fake_supplier(**kw: Any) -> AsyncIterator[tuple[FakeHttpSupplier, str]]:
    fake = FakeHttpSupplier(secret=_secret(), **kw)
    async with serving(fake.app()) as url:
        try:
            yield fake, url
        finally:
            fake.release()


async def http_supplier(
    gw: Any, url: str, secret: str, sku: str, shop_id: uuid.UUID
) -> tuple[str, str]:
    """A supplier on the http protocol mapped for ``sku``, and its supplier key."""
    h = gw.admin_headers
    r = await gw.client.post(
        "/v1/suppliers",
        headers=h,
        json={
            "name": f"Integrated {uuid.uuid4().hex[:6]}",
            "adapter": "http",
            "handling_days": 1,
            "credentials": {"url": f"{url}/", "secret": secret},
        },
    )
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    await map_sku(gw, shop_id, sid, sku, f"P-{sku}", unit_cost="2")
    r = await gw.client.post(f"/v1/suppliers/{sid}/portal-key", headers=h)
    assert r.status_code == 201
    return sid, r.json()["key"]


async def test_order_posted_signed_and_answered_with_the_supplier_key(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url), fake_supplier() as (other_fake, other_url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#", "shipment.#"])
        order = _order("DE")
        mine, key = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        theirs, their_key = await http_supplier(
            gw, other_url, other_fake.secret, "TEE-M", order.shop_id
        )
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        placed_events = await tap.wait_for(
            "supplier.order_placed", count=2, order_id=str(order.order_id)
        )
        so = next(
            e.payload["supplier_order_id"]
            for e in placed_events
            if e.payload["supplier_id"] == mine
        )
        their_so = next(
            e.payload["supplier_order_id"]
            for e in placed_events
            if e.payload["supplier_id"] == theirs
        )

        # what the supplier received, signature checked by it
        assert list(fake.orders) == [so] and list(other_fake.orders) == [their_so]
        assert all(ok for *_, ok in fake.calls)
        notice = fake.orders[so]["notice"]
        assert notice["recipient"]["city"] == "Berlin"
        assert [i["sku"] for i in notice["items"]] == ["MUG-1"]
        d = await detail(gw, so)
        assert d["supplier_ref"] == "SUP-1"
        [first] = attempts(d)
        assert [(c["request"], c["status"]) for c in first["calls"]] == [("POST /orders", 201)]

        auth = {"authorization": f"Bearer {key}"}
        # another supplier's order does not exist for this key; staff keys are not supplier keys
        for path in (f"/v1/supplier/orders/{their_so}", f"/v1/supplier/orders/{their_so}/accept"):
            r = await (
                gw.client.get(path, headers=auth)
                if path.endswith(their_so)
                else gw.client.post(path, headers=auth)
            )
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = await gw.client.post(f"/v1/supplier/orders/{so}/accept", headers=gw.admin_headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await gw.client.post(f"/v1/supplier/orders/{so}/accept")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"

        r = await gw.client.get(f"/v1/supplier/orders/{so}", headers=auth)
        assert (
            r.status_code == 200
            and r.json()["notice"]["recipient"]["line1"] == "Unter den Linden 5"
        )
        r = await gw.client.post(f"/v1/supplier/orders/{so}/accept", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        r = await gw.client.post(f"/v1/supplier/orders/{so}/accept", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "accepted"  # a repeat changes nothing

        bad = {"carrier": "China Post", "tracking_numbers": ["RR123456784CN"]}
        r = await gw.client.post(f"/v1/supplier/orders/{so}/ship", headers=auth, json=bad)
        assert r.status_code == 422 and r.json()["error"]["details"] == {
            "refused": ["RR123456784CN"]
        }
        r = await gw.client.post(
            f"/v1/supplier/orders/{so}/ship", headers=auth, json={"carrier": "x"}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
        r = await gw.client.post(
            f"/v1/supplier/orders/{so}/ship",
            headers={**auth, "content-type": "application/json"},
            content=b"{",
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
        good = {"carrier": "China Post", "tracking_numbers": ["rr123456785cn"]}
        r = await gw.client.post(f"/v1/supplier/orders/{so}/ship", headers=auth, json=good)
        assert r.status_code == 200
        assert (r.json()["status"], r.json()["tracking_numbers"]) == ("shipped", ["RR123456785CN"])
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so)
        assert shipped.payload["carrier"] == "China Post"
        # the notice's customs assessment goes with the tracking (a DE order: the EU rule)
        notice = await gw.client.get(f"/v1/supplier-orders/{so}", headers=gw.admin_headers)
        customs = notice.json()["notice"]["customs"]
        assert shipped.payload["customs_rule"] == customs["threshold_rule"]
        assert shipped.payload["customs_rule"].startswith("EU IOSS")
        assert shipped.payload["duty_likely"] == customs["threshold_crossed"]
        r = await gw.client.post(f"/v1/supplier/orders/{so}/ship", headers=auth, json=good)
        assert r.status_code == 200  # the same numbers again: nothing new
        other = {"carrier": "China Post", "tracking_numbers": ["LP00123456789012"]}
        r = await gw.client.post(f"/v1/supplier/orders/{so}/ship", headers=auth, json=other)
        assert r.status_code == 409

        # the other supplier is out of stock (no backup is mapped)
        auth_b = {"authorization": f"Bearer {their_key}"}
        r = await gw.client.post(
            f"/v1/supplier/orders/{their_so}/reject", headers=auth_b, json={"reason": "sold out"}
        )
        assert r.status_code == 422 and r.json()["error"]["details"]["allowed"][0] == "out_of_stock"
        r = await gw.client.post(
            f"/v1/supplier/orders/{their_so}/reject",
            headers=auth_b,
            json={"reason": "out_of_stock", "restock_date": "2026-12-20"},
        )
        assert r.status_code == 200 and r.json()["status"] == "rejected"
        [rejected] = await tap.wait_for("supplier.order_rejected", supplier_order_id=their_so)
        assert rejected.payload["restock_date"] == "2026-12-20"
        assert len(tap.of_type("shipment.tracking_assigned")) == 1
        timeline = (await detail(gw, so))["timeline"]
        assert [e["to_status"] for e in timeline if e["kind"] == "status_changed"] == [
            "placed",
            "accepted",
            "shipped",
        ]


async def test_unknown_outcome_and_retry_after_end_with_one_order(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier(create_faults=["503:1", "hang"]) as (fake, url):
        gw = await start_service(SPEC, **FAST)
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await placed(gw, so["id"])
        tries = attempts(d)
        assert [t["outcome"] for t in tries] == ["retry", "placed"]
        assert tries[0]["error"] == "HTTP 503" and tries[0]["calls"][0]["status"] == 503
        assert tries[1]["found_by_lookup"] is True
        assert [(c["request"], c.get("error")) for c in tries[1]["calls"]] == [
            ("POST /orders", "ReadTimeout"),
            (f"GET /orders/{so['id']}", None),
        ]
        assert list(fake.orders) == [so["id"]] and fake.count("POST") == 2
        post_times = [t for t, m, _p, _ok in fake.calls if m == "POST"]
        assert post_times[1] - post_times[0] >= 0.9  # Retry-After: 1


async def test_a_supplier_refusing_our_signature_parks_the_order(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        order = _order("DE")
        await http_supplier(gw, url, _secret(), "MUG-1", order.shop_id)  # not the supplier's secret
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def parked() -> dict[str, Any] | None:
            d = await detail(gw, so["id"])
            return d if attempts(d) and d["next_attempt_at"] is None else None

        d = await eventually(parked)
        assert d["status"] == "pending" and d["last_error"].startswith("HTTP 401")
        assert [t["outcome"] for t in attempts(d)] == ["refused"]
        assert fake.orders == {} and [ok for *_, ok in fake.calls] == [False]
        # once fixed, an operator sends it again
        r = await gw.client.post(f"/v1/supplier-orders/{so['id']}/place", headers=gw.admin_headers)
        assert r.status_code == 202 and r.json()["next_attempt_at"] is not None
        r = await gw.client.post(
            f"/v1/supplier-orders/{uuid.uuid4()}/place", headers=gw.admin_headers
        )
        assert r.status_code == 404


async def test_a_callback_that_overtakes_our_call_keeps_the_order_looked_up(start_service) -> None:  # type: ignore[no-untyped-def]
    """The supplier accepts while our POST has not come back yet: the order is placed
    and accepted by the callback; when the POST's answer comes, the order still gets its
    periodic lookup (before, next_attempt_at stayed empty and a lost ship callback
    meant no tracking ever)."""
    async with fake_supplier(create_faults=["hang"]) as (fake, url):
        gw = await start_service(SPEC, **{**FAST, "supplier_timeout_seconds": 30.0})
        order = _order("DE")
        _, key = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def received() -> bool:
            return so["id"] in fake.orders

        await eventually(received)
        auth = {"authorization": f"Bearer {key}"}
        r = await gw.client.post(f"/v1/supplier/orders/{so['id']}/accept", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        fake.release()

        async def recorded() -> dict[str, Any] | None:
            d = await detail(gw, so["id"])
            return d if attempts(d) else None

        d = await eventually(recorded)
        assert d["status"] == "accepted"
        assert d["next_attempt_at"] is not None
        assert fake.count("POST") == 1


async def test_a_cancellation_during_a_call_that_did_not_get_through_is_answered(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """Cancelled while the placement call is out; the call then fails without the
    supplier storing anything (a 503): the supplier never had the order, so the answer
    to order-intake (which waited for this call) says cancelled, and no cancel is sent."""
    async with fake_supplier(create_faults=["hang-503:600"]) as (fake, url):
        gw = await start_service(SPEC, **{**FAST, "supplier_timeout_seconds": 30.0})
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def posted() -> bool:
            return fake.count("POST") == 1

        await eventually(posted)
        await request_cancellation(gw, order)

        async def cancelled() -> dict[str, Any] | None:
            d = await detail(gw, so["id"])
            return d if d["status"] == "cancelled" else None

        await eventually(cancelled)
        assert tap.of_type("supplier.cancellation_answered") == []  # waits for the call
        fake.release()
        [answer] = await tap.wait_for("supplier.cancellation_answered")
        assert answer.payload["cancelled"] == [so["id"]]
        assert answer.payload["already_shipped"] == []
        d = await detail(gw, so["id"])
        assert d["next_attempt_at"] is None and fake.orders == {}
        assert fake.count("POST", "/orders/") == 0  # no cancel sent for what it never had


async def test_place_now_while_a_call_is_out_is_refused(start_service) -> None:  # type: ignore[no-untyped-def]
    """An operator's "place now" while the worker's call is still out would start a
    second call that the supplier may see before the first has landed: refused (409)
    until the call has answered, then accepted again."""
    async with fake_supplier(create_faults=["hang", "500"]) as (fake, url):
        gw = await start_service(
            SPEC, **{**FAST, "supplier_timeout_seconds": 30.0, "placement_retry_base_seconds": 600}
        )
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def received() -> bool:
            return so["id"] in fake.orders

        await eventually(received)
        place = f"/v1/supplier-orders/{so['id']}/place"
        r = await gw.client.post(place, headers=gw.admin_headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "placement_in_flight"
        fake.release()

        async def recorded() -> dict[str, Any] | None:
            d = await detail(gw, so["id"])
            return d if attempts(d) else None

        d = await eventually(recorded)
        assert d["status"] == "placed" and fake.count("POST") == 1
        # a pending order waiting for its next try (a 500, ten minutes' backoff) may be
        # sent now: the worker is not calling
        other = _order("DE").model_copy(update={"shop_id": order.shop_id})
        await gw.runtime.bus.publish([other.envelope(correlation_id=str(other.order_id))])
        so2 = await supplier_order_of(gw, other)

        async def waiting() -> dict[str, Any] | None:
            d = await detail(gw, so2["id"])
            return d if attempts(d) else None

        d = await eventually(waiting)
        assert [t["outcome"] for t in attempts(d)] == ["retry"]
        r = await gw.client.post(f"/v1/supplier-orders/{so2['id']}/place", headers=gw.admin_headers)
        assert r.status_code == 202, r.text
        assert (await placed(gw, so2["id"]))["status"] == "placed"


async def test_credentials_removed_after_an_unknown_outcome_keep_the_lookup(start_service) -> None:  # type: ignore[no-untyped-def]
    """A 500 leaves the order to be looked up; the credentials are removed before the
    retry (the order is parked); with new credentials it is looked up before it is
    sent again, not sent blind."""
    async with fake_supplier(create_faults=["500"]) as (fake, url):
        gw = await start_service(SPEC, **{**FAST, "placement_retry_base_seconds": 4.0})
        order = _order("DE")
        sid, _ = await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def tried(n: int) -> dict[str, Any] | None:
            d = await detail(gw, so["id"])
            return d if len(attempts(d)) >= n else None

        await eventually(lambda: tried(1))
        h = gw.admin_headers
        r = await gw.client.patch(f"/v1/suppliers/{sid}", headers=h, json={"credentials": None})
        assert r.status_code == 200, r.text
        d = await eventually(lambda: tried(2), timeout=15.0)
        assert [t["outcome"] for t in attempts(d)] == ["retry", "refused"]
        assert d["next_attempt_at"] is None  # parked
        creds = {"url": f"{url}/", "secret": fake.secret}
        r = await gw.client.patch(f"/v1/suppliers/{sid}", headers=h, json={"credentials": creds})
        assert r.status_code == 200, r.text
        d = await placed(gw, so["id"])
        last = attempts(d)[-1]
        assert [c["request"] for c in last["calls"]] == [
            f"GET /orders/{so['id']}",
            "POST /orders",
        ]
        assert list(fake.orders) == [so["id"]]


async def test_a_new_address_for_an_order_the_supplier_has_is_too_late(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """Our protocol (like CJ's API) has no address change: an order already sent keeps
    its address there, so the answer is too_late, not applied with only our copy of the
    notice changed."""
    import datetime as dt

    from dropship_common.contracts.order_intake import OrderAddressChangeRequested

    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        [placed_event] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
        so = placed_event.payload["supplier_order_id"]
        new = order.shipping_address.model_copy(update={"line1": "Friedrichstr. 100"})
        request = OrderAddressChangeRequested(
            order_id=order.order_id,
            shop_id=order.shop_id,
            shipping_address=new,
            requested_by="apikey:x",
            requested_at=dt.datetime.now(dt.UTC),
        )
        await gw.runtime.bus.publish([request.envelope(correlation_id=str(order.order_id))])
        [answer] = await tap.wait_for(
            "supplier.address_change_answered", order_id=str(order.order_id)
        )
        assert (answer.payload["applied"], answer.payload["too_late"]) == ([], [so])
        d = await detail(gw, so)
        assert d["notice"]["recipient"]["line1"] == "Unter den Linden 5"
        assert fake.orders[so]["notice"]["recipient"]["line1"] == "Unter den Linden 5"
