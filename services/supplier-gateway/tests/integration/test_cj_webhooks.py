"""CJ's webhook messages as CJ sends them: stored and answered 200 at once, applied
after the commit, never acknowledged without being recorded (unknown types, orders we
do not know, refused tracking numbers: kept, counted, listed for an operator); the sign
checked with the openId CJ returns with the access token."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

import supplier_gateway
from dropship_common.migrate import find_migrations, upgrade
from dropship_testkit.fakes.cj import FakeCJ, FakeOrder
from dropship_testkit.tap import eventually
from supplier_gateway.cj_messages.repository import CJMessageRepository
from supplier_gateway.main import SPEC
from supplier_gateway.models import SupplierOrder

from ..unit.test_notice_and_customs import _order
from .cj_helpers import FAST, cj_messages, cj_supplier, detail, fake_cj, placed, settled
from .cj_helpers import supplier_order_of as _supplier_order_of

pytestmark = pytest.mark.integration

QUICK = {
    **FAST,
    "cj_message_retry_base_seconds": 0.1,
    "cj_message_retry_cap_seconds": 0.3,
}


def metric(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("cj_messages_total", {"type": kind, "outcome": outcome}) or 0


async def placed_order(gw: Any, cj: FakeCJ, **creds: Any) -> tuple[str, str, FakeOrder]:
    """A CJ supplier (``creds`` over the defaults) and one order placed with it."""
    order = _order("DE")
    sid = await cj_supplier(gw, cj, order.shop_id, **creds)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    so = (await _supplier_order_of(gw, order))["id"]
    await placed(gw, so)
    return sid, so, cj.orders[so]


async def post(gw: Any, sid: str, message: tuple[bytes, dict[str, str]]) -> Any:
    body, headers = message
    return await gw.client.post(
        f"/v1/callbacks/cjdropshipping/{sid}", content=body, headers=headers
    )


def message_id(message: tuple[bytes, dict[str, str]]) -> str:
    found: str = json.loads(message[0])["messageId"]
    return found


async def set_supplier_ref(gw: Any, so: str, ref: str | None) -> None:
    async with gw.runtime.db.transaction() as session:
        await session.execute(
            sa.update(SupplierOrder)
            .where(SupplierOrder.id == uuid.UUID(so))
            .values(supplier_ref=ref)
        )


async def test_both_spellings_apply_and_unknown_types_are_recorded(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **QUICK)
        tap = await tap_factory(gw.settings, ["shipment.#"])
        sid, so, cj_order = await placed_order(gw, cj)
        before = {
            k: metric(*k)
            for k in [("other", "unhandled"), ("ORDERSPLIT", "unhandled"), ("PRODUCT", "ignored")]
        }

        # the settings key's spelling, LOGISTICS, is applied like the documented LOGISTIC
        cj.ship(so, "CJPacket Ordinary", "RR123456785CN")
        legacy = cj.callback("LOGISTICS", cj_order)
        r = await post(gw, sid, legacy)
        assert r.status_code == 200 and r.json()["message"] == "received"
        [applied] = await settled(gw, message_id(legacy))
        assert applied["status"] == "processed"
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so)
        assert shipped.payload["tracking_numbers"] == ["RR123456785CN"]

        # types we do not understand: answered 200, kept, counted, listed for operators
        split = cj.message("ORDERSPLIT", {"orderId": int(cj_order.order_id), "split": [1, 2]})
        newer = cj.message("MAKEUP", {"anything": True})
        product = cj.message("PRODUCT", {"pid": "P1", "productNameEn": "mug"})
        for m in (split, newer, product):
            r = await post(gw, sid, m)
            assert r.status_code == 200 and r.json() == {
                "code": 200,
                "result": "success",
                "message": "received",
            }
        unhandled = await cj_messages(gw, status="unhandled")
        by_id = {m["message_id"]: m for m in unhandled}
        assert set(by_id) == {message_id(split), message_id(newer)}
        assert by_id[message_id(newer)]["type"] == "MAKEUP"
        assert by_id[message_id(newer)]["params"] == {"anything": True}
        assert by_id[message_id(split)]["supplier_id"] == sid
        [ignored] = await cj_messages(gw, status="ignored")
        assert ignored["message_id"] == message_id(product)
        assert metric("other", "unhandled") == before[("other", "unhandled")] + 1
        assert metric("ORDERSPLIT", "unhandled") == before[("ORDERSPLIT", "unhandled")] + 1
        assert metric("PRODUCT", "ignored") == before[("PRODUCT", "ignored")] + 1

        # an operator's list: not for anyone
        r = await gw.client.get("/v1/callbacks/cjdropshipping/messages")
        assert r.status_code == 401


async def test_a_message_overtaking_our_record_is_applied_once_the_order_is_known(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """CJ's LOGISTIC message names CJ's order id, which we may not have recorded yet
    (createOrderV2's answer lost, the lookup still to come): kept and tried again."""
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **QUICK)
        tap = await tap_factory(gw.settings, ["shipment.#"])
        sid, so, cj_order = await placed_order(gw, cj)
        await set_supplier_ref(gw, so, None)  # as if CJ's answer had not come back yet
        cj.ship(so, "CJPacket Ordinary", "RR123456785CN")
        early = cj.callback("LOGISTIC", cj_order)
        r = await post(gw, sid, early)
        assert r.status_code == 200 and r.json()["message"] == "received"

        async def retried() -> dict[str, Any] | None:
            found = [m for m in await cj_messages(gw) if m["message_id"] == message_id(early)]
            return found[0] if found and found[0]["attempts"] >= 2 else None

        waiting = await eventually(retried)
        assert waiting["status"] == "pending" and waiting["match_by"] is not None
        assert f"no supplier order with CJ order id {cj_order.order_id}" in waiting["last_error"]
        assert tap.of_type("shipment.tracking_assigned") == []

        await set_supplier_ref(gw, so, cj_order.order_id)  # the lookup learnt CJ's id
        [applied] = await settled(gw, message_id(early))
        assert (applied["status"], applied["supplier_order_id"]) == ("processed", so)
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so)
        assert shipped.payload["tracking_numbers"] == ["RR123456785CN"]


async def test_order_connected_gives_cj_s_new_order_id(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    """ORDER_CONNNECTED (CJ's spelling): CJ re-created the order under a new id; its
    later LOGISTIC messages name that one."""
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **QUICK)
        tap = await tap_factory(gw.settings, ["shipment.#"])
        sid, so, cj_order = await placed_order(gw, cj)
        cj_order.order_id = "1900000000000000042"
        connected = cj.callback("ORDER", cj_order, message_type="ORDER_CONNNECTED")
        assert (await post(gw, sid, connected)).status_code == 200
        assert (await settled(gw, message_id(connected)))[0]["status"] == "processed"
        cj.ship(so, "CJPacket Ordinary", "RR123456785CN")
        logistic = cj.callback("LOGISTIC", cj_order)
        assert (await post(gw, sid, logistic)).status_code == 200
        assert (await settled(gw, message_id(logistic)))[0]["status"] == "processed"
        await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so)


async def test_unmatched_and_refused_messages_are_parked_for_an_operator(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, cj_message_match_seconds=1.0, **QUICK)
        tap = await tap_factory(gw.settings, ["shipment.#"])
        sid, so, cj_order = await placed_order(gw, cj)
        parked_before = metric("LOGISTIC", "parked"), metric("ORDER", "parked")

        # a malformed tracking number (wrong check digit): 200, parked at once with why
        cj.ship(so, "China Post", "RR123456784CN")
        malformed = cj.callback("LOGISTIC", cj_order)
        r = await post(gw, sid, malformed)
        assert r.status_code == 200 and r.json()["message"] == "received"
        [bad] = await settled(gw, message_id(malformed))
        assert bad["status"] == "parked" and bad["attempts"] == 1
        assert "validation_error" in bad["last_error"] and "RR123456784CN" in bad["last_error"]

        # an order CJ has that we do not: tried for cj_message_match_seconds, then parked
        stranger = FakeOrder("999", "not-ours", {}, logistic_name="YunExpress")
        stranger.track_number = "YT2212345678901234"
        unknown = cj.callback("LOGISTIC", stranger)
        assert (await post(gw, sid, unknown)).status_code == 200
        # an ORDER message with a number that is not one of ours: parked at once
        foreign = cj.message("ORDER", {"orderNumber": "shop-1234", "cjOrderId": 7})
        assert (await post(gw, sid, foreign)).status_code == 200
        [never] = await settled(gw, message_id(unknown))
        assert never["status"] == "parked" and never["attempts"] >= 2
        assert never["last_error"].startswith("never matched: no supplier order")
        [not_ours] = await settled(gw, message_id(foreign))
        assert not_ours["status"] == "parked" and "not one of our" in not_ours["last_error"]
        parked = {m["message_id"] for m in await cj_messages(gw, status="parked")}
        assert parked == {message_id(malformed), message_id(unknown), message_id(foreign)}
        assert metric("LOGISTIC", "parked") == parked_before[0] + 2
        assert metric("ORDER", "parked") == parked_before[1] + 1
        assert (await detail(gw, so))["status"] == "placed"
        assert tap.of_type("shipment.tracking_assigned") == []

        # a signed body that is not CJ's envelope cannot be stored: 400
        for body in (b'{"messageId": "x"', b'{"messageId": "x", "params": {}}'):
            r = await post(gw, sid, (body, {"sign": cj.sign(body)}))
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"

        # the operator sends one back once it can apply (here: the order learns id 999)
        h = gw.admin_headers
        retry = f"/v1/callbacks/cjdropshipping/messages/{never['id']}/retry"
        await set_supplier_ref(gw, so, "999")
        r = await gw.client.post(retry, headers=h)
        assert r.status_code == 200 and r.json()["status"] == "pending"
        [done] = await settled(gw, message_id(unknown))
        assert done["status"] == "processed"
        [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=so)
        assert shipped.payload["tracking_numbers"] == ["YT2212345678901234"]
        r = await gw.client.post(retry, headers=h)
        assert r.status_code == 409


async def test_sign_is_checked_with_the_open_id_cj_returned_with_the_token(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **QUICK)
        order = _order("DE")
        # no openId typed in: the one getAccessToken returns is the signing key
        sid = await cj_supplier(gw, cj, order.shop_id, open_id=None)
        early = cj.message("ORDER", {"orderNumber": str(uuid.uuid4())})
        r = await post(gw, sid, early)
        assert r.status_code == 401  # no token yet: no key to check it with

        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        so = (await _supplier_order_of(gw, order))["id"]
        await placed(gw, so)  # the gateway got a token, and CJ's openId with it
        cj.ship(so, "CJPacket Ordinary", "RR123456785CN")
        message = cj.callback("LOGISTIC", cj.orders[so])
        r = await post(gw, sid, message)
        assert r.status_code == 200 and r.json()["message"] == "received"
        assert (await settled(gw, message_id(message)))[0]["status"] == "processed"

        # signed with another account's openId: not CJ's message for this supplier
        other = FakeCJ(open_id=7654321)
        forged = other.callback("LOGISTIC", cj.orders[so])
        r = await post(gw, sid, forged)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"


async def test_messages_are_stored_and_applied_on_sqlite_too(start_service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Embedded mode's database: the same store, dedupe, worker and operator list."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'supplier_gateway.db'}"
    await upgrade(find_migrations(supplier_gateway.__file__), url)
    async with fake_cj(qps=20) as (cj, cj_url):
        gw = await start_service(SPEC, database_url=url, cj_base_url=cj_url, **QUICK)
        sid, so, cj_order = await placed_order(gw, cj)
        cj.ship(so, "CJPacket Ordinary", "RR123456785CN", "https://cjpacket.com/t/RR123456785CN")
        logistic = cj.callback("LOGISTIC", cj_order)
        for answer in ("received", "already received"):
            r = await post(gw, sid, logistic)
            assert r.status_code == 200 and r.json()["message"] == answer
        assert (await settled(gw, message_id(logistic)))[0]["status"] == "processed"
        assert (await detail(gw, so))["status"] == "shipped"
        unknown = cj.message("MAKEUP", {})
        assert (await post(gw, sid, unknown)).status_code == 200
        [kept] = await cj_messages(gw, status="unhandled")
        assert kept["message_id"] == message_id(unknown)


async def test_settled_messages_are_purged_and_those_for_an_operator_kept(start_service) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj(qps=20) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **QUICK)
        sid, so, cj_order = await placed_order(gw, cj)
        cj.ship(so, "CJPacket Ordinary", "RR123456785CN")
        sent = {
            "processed": cj.callback("LOGISTIC", cj_order),
            "ignored": cj.message("STOCK", {}),
            "unhandled": cj.message("MAKEUP", {}),
            "parked": cj.message("ORDER", {"orderNumber": "shop-1"}),
        }
        for status, m in sent.items():
            assert (await post(gw, sid, m)).status_code == 200
            assert (await settled(gw, message_id(m)))[0]["status"] == status
        async with gw.runtime.db.transaction() as session:
            await CJMessageRepository(session).purge_settled(dt.timedelta(0))
        assert {m["status"] for m in await cj_messages(gw)} == {"unhandled", "parked"}
        # CJ sends the purged one again long after: stored again, and changes nothing
        r = await post(gw, sid, sent["processed"])
        assert r.json()["message"] == "received"
        assert (await settled(gw, message_id(sent["processed"])))[0]["status"] == "processed"
