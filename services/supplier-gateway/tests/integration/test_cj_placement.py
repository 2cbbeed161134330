"""Supplier orders placed at a fake CJdropshipping (real port, documented protocol),
exactly once whatever fails; CJ's webhook messages verified by their sign."""

from __future__ import annotations

import json

import pytest

from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC

from ..unit.test_notice_and_customs import _order
from .cj_helpers import (
    FAST,
    attempts,
    cj_supplier,
    detail,
    fake_cj,
    placed,
    request_cancellation,
    settled,
    supplier_order_of,
)

pytestmark = pytest.mark.integration


async def test_order_goes_to_cj_once_and_tracking_comes_back(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj() as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#", "shipment.#"])
        order = _order("DE")
        sid = await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        d = await placed(gw, so["id"])
        [event] = await tap.wait_for("supplier.order_placed", supplier_order_id=so["id"])
        assert event.payload["supplier_id"] == sid

        # what CJ received: our supplier-order id as orderNumber, the notice as CJ fields
        [cj_order] = cj.orders.values()
        assert cj_order.order_number == so["id"]
        body = cj_order.body
        assert (body["shippingCountryCode"], body["shippingCity"], body["shippingZip"]) == (
            "DE",
            "Berlin",
            "10117",
        )
        # CJ's shippingCountry is the country's name; the code goes in shippingCountryCode
        assert body["shippingCountry"] == "Germany"
        assert body["shippingAddress"] == "Unter den Linden 5"
        assert body["logisticName"] == "CJPacket Ordinary" and body["fromCountryCode"] == "CN"
        assert body["products"] == [
            {
                "vid": "92511400-C758-4474-93CA-66D442F5F787",
                "quantity": 2,
                "storeLineItemId": str(order.lines[0].line_id),
            }
        ]
        assert cj.count("/createOrderV2") == 1 and cj.count("/getAccessToken") == 1
        # every call on the timeline
        [first] = attempts(d)
        assert first["outcome"] == "placed" and first["adapter"] == "cjdropshipping"
        assert [(c["request"], c["status"], c.get("code")) for c in first["calls"]] == [
            ("POST /api2.0/v1/authentication/getAccessToken", 200, 200),
            ("POST /api2.0/v1/shopping/order/createOrderV2", 200, 200),
        ]
        assert [e["to_status"] for e in d["timeline"] if e["kind"] == "status_changed"] == [
            "placed"
        ]

        # CJ ships; its LOGISTIC message names its own order id, and CJ's tracking page
        page = "https://cjpacket.com/track?n=rr123456785cn"
        cj.ship(so["id"], "CJPacket Ordinary", "rr123456785cn", page)
        hook = f"/v1/callbacks/cjdropshipping/{sid}"
        body, headers = cj.callback("LOGISTIC", cj_order)

        r = await gw.client.post(
            hook, content=body, headers={**headers, "sign": "AAAA" + headers["sign"][4:]}
        )
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
        r = await gw.client.post(hook, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
        assert tap.of_type("shipment.tracking_assigned") == []

        # stored and answered as CJ requires; applied after the commit
        r = await gw.client.post(hook, content=body, headers=headers)
        assert r.status_code == 200 and r.json() == {
            "code": 200,
            "result": "success",
            "message": "received",
        }
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so["id"])
        assert shipped.payload["carrier"] == "CJPacket Ordinary"
        assert shipped.payload["tracking_numbers"] == ["RR123456785CN"]
        assert shipped.payload["line_ids"] == [str(order.lines[0].line_id)]
        assert shipped.payload["tracking_urls"] == {"RR123456785CN": page}
        [message] = await settled(gw, json.loads(body)["messageId"])
        assert (message["status"], message["supplier_order_id"]) == ("processed", so["id"])

        # the same message again (CJ retries), and a new message with the same number
        r = await gw.client.post(hook, content=body, headers=headers)
        assert r.status_code == 200 and r.json()["message"] == "already received"
        again, again_headers = cj.callback("LOGISTIC", cj_order)
        r = await gw.client.post(hook, content=again, headers=again_headers)
        assert r.status_code == 200 and r.json()["message"] == "received"
        [repeat] = await settled(gw, json.loads(again)["messageId"])
        assert repeat["status"] == "processed"
        d = await detail(gw, so["id"])
        assert d["status"] == "shipped"
        # the event went out once (wait for the outbox to drain, then count)
        await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so["id"])
        assert len(tap.of_type("shipment.tracking_assigned")) == 1


async def test_order_message_with_tracking_ships(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj() as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["shipment.#"])
        order = _order("DE")
        sid = await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        await placed(gw, so["id"])
        cj_order = cj.ship(so["id"], "YunExpress", "YT2212345678901234")
        body, headers = cj.callback("ORDER", cj_order)
        assert json.loads(body)["params"]["orderNumber"] == so["id"]
        r = await gw.client.post(
            f"/v1/callbacks/cjdropshipping/{sid}", content=body, headers=headers
        )
        assert r.status_code == 200 and r.json()["message"] == "received"
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so["id"])
        assert shipped.payload["tracking_numbers"] == ["YT2212345678901234"]
        kinds = [e["kind"] for e in (await detail(gw, so["id"]))["timeline"]]
        assert "supplier_update" in kinds


async def test_bad_credentials_are_refused_and_fixed_ones_send_parked_orders(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        h = gw.admin_headers
        r = await gw.client.post(
            "/v1/suppliers",
            headers=h,
            json={
                "name": "CJ bad",
                "adapter": "cjdropshipping",
                "handling_days": 1,
                "credentials": {"api_key": ""},
            },
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
        assert r.json()["error"]["details"] == [
            "api_key is required (text)",
            "logistic_name is required (text)",
        ]
        order = _order("DE")
        sid = await cj_supplier(gw, cj, order.shop_id, api_key="CJ1@api@not-the-key")
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)

        async def parked() -> dict[str, object] | None:
            d = await detail(gw, so["id"])
            return d if attempts(d) and d["next_attempt_at"] is None else None

        d = await eventually(parked)
        assert "CJ refused the API key" in str(d["last_error"]) and cj.orders == {}
        creds = {"api_key": cj.api_key, "logistic_name": "CJPacket Ordinary", "qps": 5}
        r = await gw.client.patch(f"/v1/suppliers/{sid}", headers=h, json={"credentials": creds})
        assert r.status_code == 200
        await placed(gw, so["id"])
        assert list(cj.orders) == [so["id"]]


async def test_cancellation_reaches_cj_where_it_still_can(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]

    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        shop = _order().shop_id
        early, late = (_order(c).model_copy(update={"shop_id": shop}) for c in ("DE", "FR"))
        await cj_supplier(gw, cj, shop)
        await gw.runtime.bus.publish(
            [o.envelope(correlation_id=str(o.order_id)) for o in (early, late)]
        )
        early_so = (await supplier_order_of(gw, early))["id"]
        late_so = (await supplier_order_of(gw, late))["id"]
        await placed(gw, early_so)
        await placed(gw, late_so)
        cj.orders[late_so].status = "UNSHIPPED"  # paid and being packed at CJ
        for o in (early, late):
            await request_cancellation(gw, o)

        async def told(so: str) -> dict[str, object] | None:
            d = await detail(gw, so)
            done = [e["details"] for e in d["timeline"] if e["kind"] == "supplier_cancel"]
            return done[-1] if done else None

        at_cj = await told_eventually(told, early_so)
        assert at_cj["outcome"] == "cancelled"
        assert [c["request"] for c in at_cj["calls"]] == [
            "DELETE /api2.0/v1/shopping/order/deleteOrder"
        ]  # type: ignore[union-attr]
        assert cj.orders[early_so].status == "CANCELLED"
        too_late = await told_eventually(told, late_so)
        assert too_late["outcome"] == "too_late" and cj.orders[late_so].status == "UNSHIPPED"
        d = await detail(gw, late_so)
        assert (d["status"], d["last_error"], d["cancel_refused"]) == (
            "cancelled",
            "too_late",
            True,
        )
        assert d["next_attempt_at"] is not None  # looked up like an open order
        # each order's answer waits for CJ's: stopped, or too late (CJ ships it)
        answers = await tap.wait_for("supplier.cancellation_answered", count=2)
        by_order = {a.payload["order_id"]: a.payload for a in answers}
        assert by_order[str(early.order_id)]["cancelled"] == [early_so]
        assert by_order[str(early.order_id)]["already_shipped"] == []
        assert by_order[str(late.order_id)]["cancelled"] == []
        assert by_order[str(late.order_id)]["already_shipped"] == [late_so]
        assert len(tap.of_type("supplier.cancellation_answered")) == 2  # one per order

        # the one CJ would not stop ships, and its tracking still counts
        sid = d["supplier_id"]
        parcel = cj.ship(late_so, "CJPacket Ordinary", "RR123456785CN")
        body, headers = cj.callback("LOGISTIC", parcel)
        r = await gw.client.post(
            f"/v1/callbacks/cjdropshipping/{sid}", content=body, headers=headers
        )
        assert r.status_code == 200 and r.json()["message"] == "received"
        [message] = await settled(gw, json.loads(body)["messageId"])
        assert message["status"] == "processed"
        shipped = await detail(gw, late_so)
        assert shipped["status"] == "shipped"
        [moved] = [e for e in shipped["timeline"] if e.get("to_status") == "shipped"]
        assert moved["details"]["tracking_numbers"] == ["RR123456785CN"]


async def test_a_cancellation_cj_refused_is_looked_up_for_its_tracking(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """CJ would not stop it, so it ships: when CJ's LOGISTIC webhook is lost, the
    periodic lookup still brings its tracking (aftersales needs it for the return)."""

    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, supplier_sync_seconds=0.3, **FAST)
        tap = await tap_factory(gw.settings, ["shipment.#", "supplier.#"])
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = (await supplier_order_of(gw, order))["id"]
        await placed(gw, so)
        cj.orders[so].status = "UNSHIPPED"  # paid and being packed at CJ
        await request_cancellation(gw, order)
        [answer] = await tap.wait_for("supplier.cancellation_answered")
        assert answer.payload["already_shipped"] == [so]
        deletes = cj.count("/deleteOrder")
        cj.ship(so, "CJPacket Ordinary", "CJPKL7160102171YQ")  # CJ's webhook is lost
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so)
        assert shipped.payload["tracking_numbers"] == ["CJPKL7160102171YQ"]
        d = await detail(gw, so)
        assert d["status"] == "shipped" and d["next_attempt_at"] is None
        assert cj.count("/deleteOrder") == deletes  # looked up, not asked to cancel again
        assert len(tap.of_type("supplier.cancellation_answered")) == 1


async def told_eventually(probe, so):  # type: ignore[no-untyped-def]
    return await eventually(lambda: probe(so))


async def test_tracking_is_learnt_by_lookup_when_no_webhook_comes(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, supplier_sync_seconds=0.3, **FAST)
        tap = await tap_factory(gw.settings, ["shipment.#"])
        order = _order("DE")
        await cj_supplier(gw, cj, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = await supplier_order_of(gw, order)
        await placed(gw, so["id"])
        lookups = cj.count("/getOrderDetail")
        page = "https://cjpacket.com/?trackingNumber=CJPKL7160102171YQ"
        cj.ship(so["id"], "CJPacket Ordinary", "CJPKL7160102171YQ", page)  # webhook lost
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so["id"])
        assert shipped.payload["tracking_numbers"] == ["CJPKL7160102171YQ"]
        # CJ's own tracking page, as getOrderDetail gives it, is kept
        assert shipped.payload["tracking_urls"] == {"CJPKL7160102171YQ": page}
        assert cj.count("/getOrderDetail") > lookups
        d = await detail(gw, so["id"])
        assert d["status"] == "shipped" and d["next_attempt_at"] is None
        [sync] = [e["details"] for e in d["timeline"] if e["kind"] == "supplier_sync"]
        assert sync["supplier_status"] == "SHIPPED"
        assert [c["request"].rsplit("/", 1)[1] for c in sync["calls"]] == ["getOrderDetail"]
