"""The supplier portal, driven as a supplier would with a browser (plain HTML forms)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest

from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC

from ..unit.test_notice_and_customs import _order
from .cj_helpers import map_sku, request_cancellation
from .portal_browser import Browser

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def _portal_supplier(  # type: ignore[no-untyped-def]
    gw, name: str, sku: str, shop_id: uuid.UUID, contact: str | None = None
) -> tuple[str, str]:
    """A portal supplier mapped for ``sku`` (with ``contact`` as its e-mail address, if
    given), and its portal key."""
    h = gw.admin_headers
    body = {"name": name, "adapter": "portal", "handling_days": 2}
    if contact:
        body["contact_email"] = contact
    r = await gw.client.post("/v1/suppliers", headers=h, json=body)
    sid = r.json()["id"]
    await map_sku(gw, shop_id, sid, sku, f"{name}-{sku}")
    r = await gw.client.post(f"/v1/suppliers/{sid}/portal-key", headers=h)
    assert r.status_code == 201 and r.json()["portal_url"].endswith("/portal/login")
    return sid, r.json()["key"]


async def _login(browser: Browser, key: str) -> None:
    r = await browser.login(key)
    assert r.status_code == 303 and r.headers["location"] == "/portal"


async def test_supplier_works_its_orders_in_the_portal(
    start_service, browser_for, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    browser = browser_for(gw)
    tap = await tap_factory(gw.settings, ["supplier.#", "shipment.#"])
    order = _order("DE")
    mugs, key_a = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id)
    tees, key_b = await _portal_supplier(gw, "Tees Ltd", "TEE-M", order.shop_id)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    placed = await tap.wait_for("supplier.order_placed", count=2, order_id=str(order.order_id))
    mine = next(e.payload["supplier_order_id"] for e in placed if e.payload["supplier_id"] == mugs)
    theirs = next(
        e.payload["supplier_order_id"] for e in placed if e.payload["supplier_id"] == tees
    )

    # a wrong key is refused; the right one signs in
    await browser.get("/portal/login")
    r = await browser.post("/portal/login", "key=dsk_wrong_key")
    assert r.status_code == 401 and "not valid" in r.text
    await _login(browser, key_a)
    listing = await browser.get("/portal")
    assert listing.status_code == 200 and f"/portal/orders/{mine}" in listing.text
    assert theirs not in listing.text
    page = await browser.get(f"/portal/orders/{mine}")
    assert "Unter den Linden 5" in page.text and "colour: blue" in page.text
    assert "120.00 EUR" not in page.text and "60.00 EUR" in page.text  # unit value declared
    # another supplier's order does not exist for this one
    assert (await browser.get(f"/portal/orders/{theirs}")).status_code == 404
    r = await browser.post(f"/portal/orders/{theirs}/accept", "")
    assert r.status_code == 404

    r = await browser.post(f"/portal/orders/{mine}/accept", "")
    assert r.status_code == 303
    bad = urlencode({"carrier": "China Post", "tracking": "RR123456784CN"})
    r = await browser.post(f"/portal/orders/{mine}/ship", bad)
    assert r.status_code == 422 and "RR123456784CN" in r.text  # check digit wrong
    good = urlencode({"carrier": "China Post", "tracking": "rr123456785cn\nLP00123456789012"})
    r = await browser.post(f"/portal/orders/{mine}/ship", good)
    assert r.status_code == 303
    [shipped] = await tap.wait_for("shipment.tracking_assigned", supplier_order_id=mine)
    assert shipped.payload["carrier"] == "China Post"
    assert shipped.payload["tracking_numbers"] == ["RR123456785CN", "LP00123456789012"]
    assert shipped.payload["line_ids"] == [str(order.lines[0].line_id)]
    # shipped is final: shipping again is refused and publishes nothing more
    r = await browser.post(f"/portal/orders/{mine}/ship", good)
    assert r.status_code == 409
    assert (await browser.get("/portal")).text.count("/portal/orders/") == 0

    # the other supplier is out of stock
    await _login(browser, key_b)
    form = urlencode({"reason": "out_of_stock", "restock_date": "2026-12-01", "note": "new batch"})
    r = await browser.post(f"/portal/orders/{theirs}/reject", form)
    assert r.status_code == 303
    [rejected] = await tap.wait_for("supplier.order_rejected", supplier_order_id=theirs)
    assert (rejected.payload["reason"], rejected.payload["restock_date"]) == (
        "out_of_stock",
        "2026-12-01",
    )

    r = await gw.client.get(f"/v1/supplier-orders/{mine}", headers=gw.admin_headers)
    detail = r.json()
    assert [e["to_status"] for e in detail["timeline"]] == [
        "pending",
        "placed",
        "accepted",
        "shipped",
    ]
    assert detail["timeline"][-1]["cause"] == f"supplier:{mugs}"

    async def both_done() -> bool:
        r = await gw.client.get(
            "/v1/supplier-orders",
            headers=gw.admin_headers,
            params={"order_id": str(order.order_id)},
        )
        return {s["status"] for s in r.json()["supplier_orders"]} == {"shipped", "rejected"}

    await eventually(both_done)
    card = (await gw.client.get(f"/v1/suppliers/{mugs}/scorecard", headers=gw.admin_headers)).json()
    assert (card["orders"], card["acceptance_rate"], card["on_time_ship_rate"]) == (1, 1.0, 1.0)
    assert card["median_handling_hours"] is not None and card["rejections_by_reason"] == {}
    card = (await gw.client.get(f"/v1/suppliers/{tees}/scorecard", headers=gw.admin_headers)).json()
    assert (card["acceptance_rate"], card["on_time_ship_rate"]) == (0.0, None)
    assert card["rejections_by_reason"] == {"out_of_stock": 1}


async def test_portal_without_a_key_redirects_to_sign_in(start_service, browser_for) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    browser = browser_for(gw)
    r = await browser.get("/portal")
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    r = await browser.get("/portal/login")
    assert r.status_code == 200 and "<form method='post' action='/portal/login'>" in r.text
    # an operator's API key is not a supplier key
    r = await browser.post("/portal/login", {"key": "x" * 40})
    assert r.status_code == 401


async def test_unshipped_order_goes_at_risk_then_overdue_once(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from supplier_gateway.supplier_orders.deadlines import check_deadlines

    gw = await start_service(SPEC)
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    await _portal_supplier(gw, "Slow Ltd", "MUG-1", order.shop_id)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    so_id = placed.payload["supplier_order_id"]
    detail = (await gw.client.get(f"/v1/supplier-orders/{so_id}", headers=gw.admin_headers)).json()
    ship_by = dt.date.fromisoformat(detail["timeline"][-1]["details"]["ship_by"])
    assert ship_by > dt.date.today()  # 2 business days in China
    noon_cn = dt.time(4, tzinfo=dt.UTC)  # 12:00 in Shanghai
    on_the_day = dt.datetime.combine(ship_by, noon_cn)
    assert await check_deadlines(gw.runtime, on_the_day) == {"at_risk": 1, "overdue": 0}
    assert await check_deadlines(gw.runtime, on_the_day) == {"at_risk": 0, "overdue": 0}
    day_after = on_the_day + dt.timedelta(days=1)
    assert await check_deadlines(gw.runtime, day_after) == {"at_risk": 0, "overdue": 1}
    assert await check_deadlines(gw.runtime, day_after) == {"at_risk": 0, "overdue": 0}
    [overdue] = await tap.wait_for("supplier.order_overdue", supplier_order_id=so_id)
    assert overdue.payload["ship_by"] == ship_by.isoformat()
    detail = (await gw.client.get(f"/v1/supplier-orders/{so_id}", headers=gw.admin_headers)).json()
    assert [e["kind"] for e in detail["timeline"]][-2:] == ["at_risk", "overdue"]
    assert len(tap.of_type("supplier.order_overdue")) == 1


async def test_rejection_is_replaced_with_the_backup_then_reported_when_none_is_left(
    start_service, browser_for, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    browser = browser_for(gw)
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("FR")
    first, key_first = await _portal_supplier(gw, "First", "MUG-1", order.shop_id)
    backup, key_backup = await _portal_supplier(gw, "Backup", "MUG-1", order.shop_id)
    # make "Backup" the second choice for MUG-1
    r = await gw.client.get(
        "/v1/mappings",
        headers=gw.admin_headers,
        params={"shop_id": str(order.shop_id), "sku": "MUG-1"},
    )
    mapping = next(m for m in r.json() if m["supplier_id"] == backup)
    mapping["priority"] = 2
    for k in ("id", "shop_id"):
        mapping.pop(k)
    r = await gw.client.post(
        "/v1/mappings",
        headers=gw.admin_headers,
        json={"shop_id": str(order.shop_id), "mappings": [mapping]},
    )
    assert r.status_code == 201
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    assert placed.payload["supplier_id"] == first

    await _login(browser, key_first)
    reject = urlencode({"reason": "out_of_stock"})
    r = await browser.post(f"/portal/orders/{placed.payload['supplier_order_id']}/reject", reject)
    assert r.status_code == 303
    # re-placed with the backup at once; nobody is told of a rejection yet
    placed_again = await tap.wait_for(
        "supplier.order_placed", count=2, order_id=str(order.order_id)
    )
    second = next(e for e in placed_again if e.payload["supplier_id"] == backup)
    assert tap.of_type("supplier.order_rejected") == []
    r = await gw.client.get(
        f"/v1/supplier-orders/{second.payload['supplier_order_id']}", headers=gw.admin_headers
    )
    assert [i["sku"] for i in r.json()["notice"]["items"]] == ["MUG-1"]
    assert r.json()["notice"]["recipient"]["country_code"] == "FR"

    # the backup cannot either: no supplier left, now it is reported
    await _login(browser, key_backup)
    r = await browser.post(f"/portal/orders/{second.payload['supplier_order_id']}/reject", reject)
    assert r.status_code == 303
    [rejected] = await tap.wait_for("supplier.order_rejected", order_id=str(order.order_id))
    assert rejected.payload["line_ids"] == [str(order.lines[0].line_id)]
    assert len(tap.of_type("supplier.order_placed", order_id=str(order.order_id))) == 2


async def test_cancellation_stops_what_has_not_shipped_and_answers(
    start_service, browser_for, tap_factory
) -> None:  # type: ignore[no-untyped-def]

    gw = await start_service(SPEC)
    browser = browser_for(gw)
    tap = await tap_factory(gw.settings, ["supplier.#", "shipment.#"])
    order = _order("DE")
    _mugs, key_mugs = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id)
    tees, key_tees = await _portal_supplier(gw, "Tees Ltd", "TEE-M", order.shop_id)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    placed = await tap.wait_for("supplier.order_placed", count=2, order_id=str(order.order_id))
    shipped_id = next(
        e.payload["supplier_order_id"] for e in placed if e.payload["supplier_id"] == tees
    )
    await _login(browser, key_tees)
    r = await browser.post(
        f"/portal/orders/{shipped_id}/ship",
        urlencode({"carrier": "YTO", "tracking": "YT2345678901234"}),
    )
    assert r.status_code == 303

    await request_cancellation(gw, order, "buyer changed mind")
    [answer] = await tap.wait_for("supplier.cancellation_answered", order_id=str(order.order_id))
    stopped = [
        e.payload["supplier_order_id"]
        for e in placed
        if e.payload["supplier_order_id"] != shipped_id
    ]
    assert answer.payload["cancelled"] == stopped
    assert answer.payload["already_shipped"] == [shipped_id]
    r = await gw.client.get(
        "/v1/supplier-orders", headers=gw.admin_headers, params={"order_id": str(order.order_id)}
    )
    assert sorted(s["status"] for s in r.json()["supplier_orders"]) == ["cancelled", "shipped"]
    # the stopped one cannot ship afterwards: the buyer was told it is cancelled
    await _login(browser, key_mugs)
    r = await browser.post(
        f"/portal/orders/{stopped[0]}/ship",
        urlencode({"carrier": "YTO", "tracking": "YT2345678901235"}),
    )
    assert r.status_code == 409 and "this supplier order is cancelled" in r.text
    assert tap.of_type("shipment.tracking_assigned", supplier_order_id=stopped[0]) == []


async def test_new_address_reaches_the_notice_and_is_answered(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from dropship_common.contracts.order_intake import OrderAddressChangeRequested

    gw = await start_service(SPEC)
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id)
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    new = order.shipping_address.model_copy(update={"line1": "Friedrichstr. 100"})
    request = OrderAddressChangeRequested(
        order_id=order.order_id,
        shop_id=order.shop_id,
        shipping_address=new,
        requested_by="apikey:x",
        requested_at=dt.datetime.now(dt.UTC),
    )
    await gw.runtime.bus.publish([request.envelope(correlation_id=str(order.order_id))])
    [answer] = await tap.wait_for("supplier.address_change_answered", order_id=str(order.order_id))
    so_id = placed.payload["supplier_order_id"]
    assert (answer.payload["applied"], answer.payload["too_late"]) == ([so_id], [])
    r = await gw.client.get(f"/v1/supplier-orders/{so_id}", headers=gw.admin_headers)
    assert r.json()["notice"]["recipient"]["line1"] == "Friedrichstr. 100"
    assert r.json()["timeline"][-1]["kind"] == "address_changed"


async def test_redaction_removes_the_buyer_from_notices_copies_and_portal(  # type: ignore[no-untyped-def]
    start_service, browser_for, tap_factory
) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from dropship_common.contracts.order_intake import OrderRedacted
    from supplier_gateway.models import ConfirmedOrder, SupplierEmail

    gw = await start_service(SPEC)
    browser = browser_for(gw)
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    _, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id, "mugs@example.cn")
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    so_id = placed.payload["supplier_order_id"]
    await _login(browser, key)
    assert "Unter den Linden 5" in (await browser.get(f"/portal/orders/{so_id}")).text

    redacted = OrderRedacted(
        order_id=order.order_id, shop_id=order.shop_id, redacted_at=dt.datetime.now(dt.UTC)
    )
    await gw.runtime.bus.publish([redacted.envelope(correlation_id=str(order.order_id))])

    async def scrubbed() -> dict | None:  # type: ignore[type-arg]
        r = await gw.client.get(f"/v1/supplier-orders/{so_id}", headers=gw.admin_headers)
        body = r.json()
        return body if body["timeline"][-1]["kind"] == "redacted" else None

    got = await eventually(scrubbed)
    assert got["notice"]["recipient"]["country_code"] == "DE"
    assert {k for k, v in got["notice"]["recipient"].items() if v is not None} == {"country_code"}
    assert got["notice"]["buyer_note"] is None and got["notice"]["buyer_wishes"] == []
    assert all(item["wishes"] == [] for item in got["notice"]["items"])
    assert got["notice"]["customs"]["total_value"] == "120.00"  # the business keeps these
    page = (await browser.get(f"/portal/orders/{so_id}")).text
    for personal in ("Lena", "Unter den Linden 5", "+49301234567", "colour: blue", "gift"):
        assert personal not in page and personal not in str(got)
    async with gw.runtime.db.sessions() as s:
        copy = await s.get(ConfirmedOrder, order.order_id)
        mails = list(await s.scalars(sa.select(SupplierEmail.body)))
    assert copy is not None
    for personal in ("Lena", "Unter den Linden 5", "+49301234567", "blue", "gift"):
        assert personal not in str(copy.payload)
    assert copy.payload["shipping_address"]["country_code"] == "DE"
    # the e-mail still announces the order (items, destination), without the wishes
    assert mails and all("blue" not in m and "to DE by" in m for m in mails)
