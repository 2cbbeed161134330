"""How an aftersales case was settled reaches the supplier once per case, through its
channel: the http protocol (``POST /notices`` at the fake supplier, signed), the portal
(a line on the order's page, and an e-mail), CJ (recorded for an operator)."""

from __future__ import annotations

import email
import email.policy
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dropship_common.contracts.aftersales import AftersalesSupplierNotice
from dropship_common.observability import MESSAGES_CONSUMED
from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC
from supplier_gateway.supplier_emails.repository import SupplierEmailRepository

from ..unit.test_notice_and_customs import _order
from .cj_helpers import FAST, cj_supplier, detail, fake_cj
from .test_http_supplier import fake_supplier, http_supplier
from .test_portal import _login, _portal_supplier
from .test_reships import _handled, _true

pytestmark = pytest.mark.integration


def notice_for(order_id: uuid.UUID, supplier_order_id: str) -> AftersalesSupplierNotice:
    return AftersalesSupplierNotice(
        case_id=uuid.uuid4(),
        order_id=order_id,
        supplier_order_id=uuid.UUID(supplier_order_id),
        case_type="damaged",
        resolution="return_then_refund",
        cost=Decimal("12.50"),
        currency="EUR",
        borne_by="supplier",
        goods_back=True,
        note="mug arrived cracked <b>photo</b> confirmed",
    )


async def _twice(gw: Any, event: AftersalesSupplierNotice) -> None:
    """Two deliveries of the same case's notice, waited for until both were handled."""
    before = _handled(event.TYPE)
    for _ in range(2):
        await gw.runtime.bus.publish([event.envelope(correlation_id=str(event.order_id))])
    await eventually(lambda: _true(_handled(event.TYPE) >= before + 2))


def _notices(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["details"] for e in d["timeline"] if e["kind"] == "supplier_notice"]


async def test_http_supplier_is_notified_once(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
        so = placed.payload["supplier_order_id"]
        fake.notice_faults.append("503:0")  # busy at first: delivered on the retry
        event = notice_for(order.order_id, so)
        await _twice(gw, event)

        async def delivered() -> list[dict[str, Any]] | None:
            d = await detail(gw, so)
            done = [
                e["details"]
                for e in d["timeline"]
                if e["kind"] == "supplier_notice_delivery" and e["details"]["outcome"] == "sent"
            ]
            return done or None

        [sent] = await eventually(delivered)
        assert sent["case_id"] == str(event.case_id)
        assert list(fake.notices) == [f"notice-{event.case_id}"]
        body = fake.notices[f"notice-{event.case_id}"]
        assert body == {
            "case_id": str(event.case_id),
            "supplier_order_id": so,
            "order_number": "#1",
            "case_type": "damaged",
            "resolution": "return_then_refund",
            "cost": "12.50",
            "currency": "EUR",
            "borne_by": "supplier",
            "goods_back": True,
            "note": "mug arrived cracked <b>photo</b> confirmed",
        }
        # the 503 and the delivery: two calls, both signed; the second delivery of the
        # event recorded nothing more
        assert fake.count("POST", "/notices") == 2
        assert all(ok for _, m, p, ok in fake.calls if p == "/notices")
        assert len(_notices(await detail(gw, so))) == 1


async def test_portal_supplier_sees_the_case_and_gets_one_email(
    start_service, tap_factory, browser_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC, data_dir=tmp_path)
    tap = await tap_factory(gw.settings, ["supplier.#"])
    order = _order("DE")
    _, key = await _portal_supplier(gw, "Mugs Ltd", "MUG-1", order.shop_id, "o@mugs.example")
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
    [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
    so = placed.payload["supplier_order_id"]
    event = notice_for(order.order_id, so)
    await _twice(gw, event)

    browser = browser_for(gw)
    await _login(browser, key)
    page = (await browser.get(f"/portal/orders/{so}")).text
    assert page.count("class='case'") == 1
    assert "return_then_refund" in page and "12.50 EUR" in page
    assert "mug arrived cracked &lt;b&gt;photo&lt;/b&gt; confirmed" in page  # escaped

    async def mailed() -> str | None:
        async with gw.runtime.db.sessions() as session:
            row = await SupplierEmailRepository(session).for_case(event.case_id)
            return row.status if row and row.status == "sent" else None

    assert await eventually(mailed) == "sent"
    folder = tmp_path / "supplier-mail"
    subjects = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.append(msg["Subject"])
        if "case settled" in msg["Subject"]:
            text = msg.get_content()
            assert "Cost: 12.50 EUR (you bear it)." in text
            assert "The goods come back to you." in text
            assert "Lena" not in text
    # the new order's e-mail and one notice, whatever the deliveries
    assert sorted(s.split(":")[0] for s in subjects) == ["New order #1", "Order #1"]
    assert len(_notices(await detail(gw, so))) == 1


async def test_cj_notice_is_recorded_for_an_operator(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    async with fake_cj() as (fake, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await cj_supplier(gw, fake, order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
        so = placed.payload["supplier_order_id"]
        event = notice_for(order.order_id, so)
        await _twice(gw, event)
        [recorded] = _notices(await detail(gw, so))
        assert recorded["channel"] == "operator" and recorded["status"] == "for_operator"
        assert recorded["case_id"] == str(event.case_id) and recorded["borne_by"] == "supplier"


async def test_a_notice_for_a_supplier_order_we_do_not_have_is_dead_lettered(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    event = notice_for(uuid.uuid4(), str(uuid.uuid4()))
    failed = MESSAGES_CONSUMED.labels("supplier-gateway", event.TYPE, "failed")
    before = failed._value.get()
    await gw.runtime.bus.publish([event.envelope(correlation_id=str(event.order_id))])
    await eventually(lambda: _true(failed._value.get() > before))


async def test_a_notice_the_http_supplier_refuses_is_failed_for_an_operator(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    async with fake_supplier() as (fake, url):
        gw = await start_service(SPEC, **FAST)
        tap = await tap_factory(gw.settings, ["supplier.#"])
        order = _order("DE")
        await http_supplier(gw, url, fake.secret, "MUG-1", order.shop_id)
        await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])
        [placed] = await tap.wait_for("supplier.order_placed", order_id=str(order.order_id))
        so = placed.payload["supplier_order_id"]
        fake.notice_faults.append("400")
        await gw.runtime.bus.publish(
            [notice_for(order.order_id, so).envelope(correlation_id=str(order.order_id))]
        )

        async def failed() -> list[dict[str, Any]] | None:
            d = await detail(gw, so)
            done = [
                e["details"]
                for e in d["timeline"]
                if e["kind"] == "supplier_notice_delivery" and e["details"]["outcome"] == "failed"
            ]
            return done or None

        [entry] = await eventually(failed)
        assert "HTTP 400" in entry["error"]
        assert fake.count("POST", "/notices") == 1 and fake.notices == {}
