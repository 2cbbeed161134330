"""The order API: custom orders with Idempotency-Key, holds, operator actions, listing."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import uuid
from typing import Any

import pytest

from dropship_common.contracts.supplier_gateway import SupplierOrderPlaced
from dropship_testkit.storefront import create_shop
from dropship_testkit.tap import eventually
from order_intake.orders import idempotency
from order_intake.payments import sweep_payments

from .conftest import Intake

pytestmark = pytest.mark.integration

CUSTOM_ORDER: dict[str, Any] = {
    "external_id": "A-1001",
    "number": "A-1001",
    "currency": "EUR",
    "lines": [{"sku": "MUG-1", "title": "Mug", "quantity": 2, "unit_price": "9.50"}],
    "shipping_address": {
        "name": "Lena Müller",
        "line1": "Unter den Linden 5",
        "city": "Berlin",
        "postal_code": "10117",
        "country_code": "DE",
        "phone": "030 1234567",
    },
    "buyer": {"email": "lena@example.de", "name": "Lena Müller"},
    "note": "gift wrap please",
}


@pytest.fixture
async def custom_shop(intake: Intake) -> str:
    return await create_shop(
        intake.client,
        intake.h,
        platform="custom",
        domain="shop.example.de",
        secret="custom-secret-1",
        skus=("MUG-1",),
    )


def order_body(shop_id: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CUSTOM_ORDER)
    body.update(changes)
    body["shop_id"] = shop_id
    return body


async def test_custom_order_confirmed_with_e164_phone(intake: Intake, custom_shop: str) -> None:
    r = await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "confirmed"
    assert order["shipping_address"]["phone"] == "+49301234567"
    assert order["total_price"].startswith("19.0")
    [event] = await intake.tap.wait_for("order.confirmed", order_id=order["id"])
    assert event.payload["note"] == "gift wrap please"


async def test_idempotency_key_replays_refuses_other_body_and_in_flight(
    intake: Intake, custom_shop: str
) -> None:
    headers = {**intake.h, "idempotency-key": "key-1"}
    body = order_body(custom_shop)
    first = await intake.client.post("/v1/orders", headers=headers, json=body)
    again = await intake.client.post("/v1/orders", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await intake.client.post(
        "/v1/orders", headers=headers, json=order_body(custom_shop, external_id="A-2")
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(await intake.orders()) == 1
    # a duplicate arriving while the first request still runs: 409
    raw = json.dumps(order_body(custom_shop, external_id="A-3")).encode()
    db = intake.svc.runtime.db
    assert (
        await idempotency.claim(db, "admin-token", "key-2", idempotency.request_hash(raw)) is None
    )
    busy = await intake.client.post(
        "/v1/orders",
        headers={**intake.h, "idempotency-key": "key-2", "content-type": "application/json"},
        content=raw,
    )
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_in_progress"


async def test_concurrent_duplicates_make_one_order(intake: Intake, custom_shop: str) -> None:
    headers = {**intake.h, "idempotency-key": "key-race"}
    body = order_body(custom_shop, external_id="RACE-1")
    answers = await asyncio.gather(
        *(intake.client.post("/v1/orders", headers=headers, json=body) for _ in range(5))
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {201, 409}
    assert 201 in codes
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert all(
        a.json()["error"]["code"] == "idempotency_in_progress"
        for a in answers
        if a.status_code == 409
    )
    assert len(await intake.orders(number="A-1001")) == 1


async def test_custom_order_validation_errors(intake: Intake, custom_shop: str) -> None:
    bad = order_body(custom_shop)
    bad["lines"][0]["quantity"] = 0
    r = await intake.client.post("/v1/orders", headers=intake.h, json=bad)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert any("quantity" in d["loc"] for d in err["details"])
    r = await intake.client.post(
        "/v1/orders", headers={**intake.h, "content-type": "application/json"}, content=b"{oops"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = await intake.client.post("/v1/orders", json=order_body(custom_shop))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert await intake.orders() == []


async def test_bad_address_held_then_corrected_and_released(
    intake: Intake, custom_shop: str
) -> None:
    body = order_body(custom_shop)
    body["shipping_address"]["postal_code"] = "ABCDE"
    r = await intake.client.post("/v1/orders", headers=intake.h, json=body)
    order = r.json()
    assert order["status"] == "on_hold"
    assert [h["code"] for h in order["hold_reasons"]] == ["invalid_postal_code"]
    new_address = {**CUSTOM_ORDER["shipping_address"], "postal_code": "10115"}
    r = await intake.client.put(
        f"/v1/orders/{order['id']}/shipping-address", headers=intake.h, json=new_address
    )
    assert r.status_code == 200 and r.json()["result"] == "applied"
    r = await intake.client.post(f"/v1/orders/{order['id']}/release", headers=intake.h)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    [event] = await intake.tap.wait_for("order.confirmed", order_id=order["id"])
    assert event.payload["shipping_address"]["postal_code"] == "10115"
    # an invalid correction is refused and changes nothing
    r = await intake.client.put(
        f"/v1/orders/{order['id']}/shipping-address",
        headers=intake.h,
        json={**new_address, "postal_code": "1"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_address"
    assert (await intake.order(order["id"]))["shipping_address"]["postal_code"] == "10115"


async def test_unknown_sku_mapped_by_operator(intake: Intake, custom_shop: str) -> None:
    body = order_body(custom_shop)
    body["lines"][0]["sku"] = "MUG-OLD"
    order = (await intake.client.post("/v1/orders", headers=intake.h, json=body)).json()
    assert order["status"] == "on_hold"
    assert order["hold_reasons"][0]["code"] == "unknown_sku"
    line = order["lines"][0]["id"]
    r = await intake.client.put(
        f"/v1/orders/{order['id']}/lines/{line}/sku", headers=intake.h, json={"sku": "MUG-1"}
    )
    assert r.status_code == 200 and r.json()["lines"][0]["sku_override"] == "MUG-1"
    r = await intake.client.post(f"/v1/orders/{order['id']}/release", headers=intake.h)
    assert r.json()["status"] == "confirmed"
    [event] = await intake.tap.wait_for("order.confirmed", order_id=order["id"])
    assert event.payload["lines"][0]["sku"] == "MUG-1"


async def test_cancel_and_address_after_handoff_become_requests(
    intake: Intake, custom_shop: str
) -> None:
    order = (
        await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    ).json()
    # supplier-gateway reports the hand-off through the bus
    placed = SupplierOrderPlaced(
        order_id=uuid.UUID(order["id"]),
        supplier_order_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        placed_at=dt.datetime.now(dt.UTC),
    )
    await intake.tap.bus.publish([placed.envelope(correlation_id=order["id"])])

    async def handed_off() -> dict | None:
        o = await intake.order(order["id"])
        return o if o["handed_off_at"] else None

    await eventually(handed_off)
    r = await intake.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=intake.h, json={"reason": "buyer changed mind"}
    )
    assert r.status_code == 200
    assert r.json()["result"] == "requested"
    assert r.json()["order"]["status"] == "confirmed"
    [req] = await intake.tap.wait_for("order.cancellation_requested", order_id=order["id"])
    assert req.payload["reason"] == "buyer changed mind"
    new_address = {**CUSTOM_ORDER["shipping_address"], "line1": "Friedrichstr. 100"}
    r = await intake.client.put(
        f"/v1/orders/{order['id']}/shipping-address", headers=intake.h, json=new_address
    )
    assert r.json()["result"] == "requested"
    assert r.json()["order"]["shipping_address"]["line1"] == "Unter den Linden 5"
    [chg] = await intake.tap.wait_for("order.address_change_requested", order_id=order["id"])
    assert chg.payload["shipping_address"]["line1"] == "Friedrichstr. 100"


async def test_cancel_before_handoff_is_applied(intake: Intake, custom_shop: str) -> None:
    order = (
        await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    ).json()
    r = await intake.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=intake.h, json={"reason": "out of stock"}
    )
    assert r.json()["result"] == "cancelled" and r.json()["order"]["status"] == "cancelled"
    [ev] = await intake.tap.wait_for("order.cancelled", order_id=order["id"])
    assert ev.payload["reason"] == "out of stock"
    r = await intake.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=intake.h, json={"reason": "again"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_order_state"


async def test_list_filters_and_cursor_pagination(intake: Intake, custom_shop: str) -> None:
    ids = []
    for i in range(5):
        body = order_body(custom_shop, external_id=f"P-{i}", number=f"P-{i}")
        body["buyer"] = {"email": f"buyer{i % 2}@example.de", "name": "B"}
        ids.append(
            (await intake.client.post("/v1/orders", headers=intake.h, json=body)).json()["id"]
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await intake.client.get("/v1/orders", headers=intake.h, params=params)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    by_mail = await intake.orders(email="BUYER1@example.de")
    assert {o["external_id"] for o in by_mail} == {"P-1", "P-3"}
    assert [o["external_id"] for o in await intake.orders(number="P-2")] == ["P-2"]
    assert len(await intake.orders(status="confirmed", shop_id=custom_shop)) == 5
    assert await intake.orders(status="on_hold") == []
    r = await intake.client.get("/v1/orders", headers=intake.h, params={"cursor": "garbage"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    # created_from <= received < created_to (half-open: consecutive ranges do not overlap)
    created = sorted(
        dt.datetime.fromisoformat(o["created_at"]) for o in await intake.orders(shop_id=custom_shop)
    )
    second, fourth = created[1].isoformat(), created[3].isoformat()
    between = await intake.orders(created_from=second, created_to=fourth)
    assert sorted(dt.datetime.fromisoformat(o["created_at"]) for o in between) == created[1:3]
    later = (created[-1] + dt.timedelta(seconds=1)).isoformat()
    assert await intake.orders(created_from=later) == []
    assert len(await intake.orders(created_to=later)) == 5


async def test_payment_window_reminds_then_cancels(intake: Intake, custom_shop: str) -> None:
    placed = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    body = order_body(custom_shop, payment_status="pending", placed_at=placed.isoformat())
    order = (await intake.client.post("/v1/orders", headers=intake.h, json=body)).json()
    assert order["status"] == "awaiting_payment"
    rt = intake.svc.runtime
    assert await sweep_payments(rt, placed + dt.timedelta(days=1)) == {
        "reminded": 0,
        "cancelled": 0,
    }
    assert await sweep_payments(rt, placed + dt.timedelta(days=4)) == {
        "reminded": 1,
        "cancelled": 0,
    }
    assert await sweep_payments(rt, placed + dt.timedelta(days=5)) == {
        "reminded": 0,
        "cancelled": 0,
    }
    assert await sweep_payments(rt, placed + dt.timedelta(days=20, hours=1)) == {
        "reminded": 0,
        "cancelled": 1,
    }
    final = await intake.order(order["id"])
    assert final["status"] == "cancelled"
    assert "not paid within 20 days" in final["timeline"][-1]["reason"]
    [ev] = await intake.tap.wait_for("order.cancelled", order_id=order["id"])
    assert ev.payload["reason"] == "not paid within 20 days"
    assert intake.tap.of_type("order.confirmed", order_id=order["id"]) == []


async def test_operator_key_cannot_administer_shops(intake: Intake) -> None:
    from dropship_common.auth import create_api_key
    from dropship_common.security import Role

    async with intake.svc.runtime.db.transaction() as s:
        _, key = await create_api_key(s, intake.svc.runtime.tables.api_keys, Role.OPERATOR)
    operator = {"authorization": f"Bearer {key}"}
    assert (await intake.client.get("/v1/shops", headers=operator)).status_code == 200
    r = await intake.client.post(
        "/v1/shops",
        headers=operator,
        json={"platform": "shopify", "domain": "x.myshopify.com", "webhook_secret": "12345678"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await intake.client.get("/v1/shops", headers={"authorization": "Bearer dsk_nope_nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_shop_responses_never_show_secrets_or_credentials(intake: Intake) -> None:
    secret, token = "shpss_never_shown_1234", "shpat_never_shown_5678"
    r = await intake.client.post(
        "/v1/shops",
        headers=intake.h,
        json={
            "platform": "shopify",
            "domain": "secretive.myshopify.com",
            "webhook_secret": secret,
            "admin_credentials": {"access_token": token},
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["webhook_secrets_count"], created["has_admin_credentials"]) == (1, True)
    one = await intake.client.get(f"/v1/shops/{created['id']}", headers=intake.h)
    assert one.status_code == 200 and one.json() == created
    rotated = await intake.client.patch(
        f"/v1/shops/{created['id']}", headers=intake.h, json={"webhook_secret": secret + "_2"}
    )
    assert rotated.json()["webhook_secrets_count"] == 2  # current and previous
    listed = await intake.client.get("/v1/shops", headers=intake.h)
    for text in (r.text, one.text, rotated.text, listed.text):
        assert secret not in text and token not in text
    missing = await intake.client.get(f"/v1/shops/{uuid.uuid4()}", headers=intake.h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "shop_not_found"


async def test_stale_idempotency_claim_of_a_dead_request_is_taken_over(
    intake: Intake, custom_shop: str
) -> None:
    import sqlalchemy as sa

    from order_intake.models import IdempotencyKey

    raw = json.dumps(order_body(custom_shop, external_id="DEAD-1")).encode()
    db = intake.svc.runtime.db
    assert (
        await idempotency.claim(db, "admin-token", "key-dead", idempotency.request_hash(raw))
        is None
    )
    headers = {**intake.h, "idempotency-key": "key-dead", "content-type": "application/json"}
    assert (await intake.client.post("/v1/orders", headers=headers, content=raw)).status_code == 409
    async with db.transaction() as s:  # the process that claimed it died two minutes ago
        await s.execute(
            sa.update(IdempotencyKey)
            .where(IdempotencyKey.key == "key-dead")
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))
        )
    r = await intake.client.post("/v1/orders", headers=headers, content=raw)
    assert r.status_code == 201 and r.json()["external_id"] == "DEAD-1"
    again = await intake.client.post("/v1/orders", headers=headers, content=raw)
    assert again.json() == r.json() and again.headers["idempotent-replayed"] == "true"


async def test_concurrent_same_order_without_key_is_one_order_never_500(
    intake: Intake, custom_shop: str
) -> None:
    body = order_body(custom_shop, external_id="TWIN-1")
    answers = await asyncio.gather(
        *(intake.client.post("/v1/orders", headers=intake.h, json=body) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"lines": [{"sku": "MUG-1", "title": "Mug", "quantity": 10**12, "unit_price": "1"}]},
            {"validation_error", "invalid_value"},
        ),
        ({"external_id": "x" * 256}, {"validation_error"}),
    ],
    ids=["huge-quantity", "too-long-id"],
)
async def test_out_of_range_values_are_422_not_500(
    intake: Intake, custom_shop: str, change: dict, code: set
) -> None:
    r = await intake.client.post(
        "/v1/orders", headers=intake.h, json=order_body(custom_shop, **change)
    )
    assert r.status_code == 422 and r.json()["error"]["code"] in code
    assert await intake.orders() == []


async def test_naive_date_filter_is_422(intake: Intake) -> None:
    r = await intake.client.get(
        "/v1/orders", headers=intake.h, params={"created_from": "2024-01-01T00:00:00"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


async def test_products_csv_import_all_or_nothing(intake: Intake, custom_shop: str) -> None:
    url = f"/v1/products/import?shop_id={custom_shop}"
    headers = {**intake.h, "content-type": "text/csv"}
    good = "sku,title,external_product_id\nCAP-1,Cap,501\nCAP-2,Cap XL,\n"
    r = await intake.client.post(url, headers=headers, content=(good + ",,\n").encode())
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["row"] == 4
    r = await intake.client.get("/v1/products", headers=intake.h, params={"shop_id": custom_shop})
    assert [p["sku"] for p in r.json()] == ["MUG-1"]
    r = await intake.client.post(url, headers=headers, content=good.encode())
    assert r.json() == {"created": 2, "updated": 0}
    r = await intake.client.post(url, headers=headers, content=b"\xff\xfe bad")
    assert r.status_code == 400 and r.json()["error"]["message"] == "the CSV must be UTF-8"


async def test_supplier_rejection_lands_on_the_timeline(intake: Intake, custom_shop: str) -> None:
    from dropship_common.contracts.supplier_gateway import SupplierOrderRejected

    order = (
        await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    ).json()
    rejected = SupplierOrderRejected(
        order_id=uuid.UUID(order["id"]),
        supplier_order_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        reason="out_of_stock",
        restock_date=dt.date(2026, 12, 1),
        line_ids=[uuid.UUID(order["lines"][0]["id"])],
        rejected_at=dt.datetime.now(dt.UTC),
    )
    envelope = rejected.envelope(correlation_id=order["id"])
    sent_at = dt.datetime.now(dt.UTC)
    await intake.tap.bus.publish([envelope])

    async def noted() -> dict | None:
        o = await intake.order(order["id"])
        return next((e for e in o["timeline"] if e["kind"] == "supplier_rejected"), None)

    entry = await eventually(noted)
    assert entry["reason"] == "out_of_stock"
    assert entry["details"]["restock_date"] == "2026-12-01"
    # who, which message, and when: the timeline says what caused each entry
    assert entry["actor"] == "service:supplier-gateway"
    assert str(envelope.id) in entry["cause"], entry["cause"]
    at = dt.datetime.fromisoformat(entry["at"])
    assert at.tzinfo is not None and sent_at <= at <= dt.datetime.now(dt.UTC)


async def test_supplier_overdue_lands_on_the_timeline(intake: Intake, custom_shop: str) -> None:
    from dropship_common.contracts.supplier_gateway import SupplierOrderOverdue

    order = (
        await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    ).json()
    late = SupplierOrderOverdue(
        order_id=uuid.UUID(order["id"]),
        supplier_order_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        ship_by=dt.date(2026, 11, 25),
        detected_at=dt.datetime.now(dt.UTC),
    )
    await intake.tap.bus.publish([late.envelope(correlation_id=order["id"])])

    async def noted() -> dict | None:
        o = await intake.order(order["id"])
        return next((e for e in o["timeline"] if e["kind"] == "supplier_overdue"), None)

    assert (await eventually(noted))["reason"] == "not shipped by 2026-11-25"


async def test_requested_cancellation_completes_when_every_supplier_stopped(
    intake: Intake, custom_shop: str
) -> None:
    from dropship_common.contracts.supplier_gateway import (
        SupplierCancellationAnswered,
        SupplierOrderPlaced,
    )

    order = (
        await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    ).json()
    oid = uuid.UUID(order["id"])
    now = dt.datetime.now(dt.UTC)
    placed = SupplierOrderPlaced(
        order_id=oid, supplier_order_id=uuid.uuid4(), supplier_id=uuid.uuid4(), placed_at=now
    )
    await intake.tap.bus.publish([placed.envelope(correlation_id=order["id"])])

    async def handed_off() -> bool:
        return (await intake.order(order["id"]))["handed_off_at"] is not None

    await eventually(handed_off)
    r = await intake.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=intake.h, json={"reason": "buyer changed mind"}
    )
    assert r.json()["result"] == "requested"
    answer = SupplierCancellationAnswered(
        order_id=oid, cancelled=[placed.supplier_order_id], already_shipped=[], answered_at=now
    )
    await intake.tap.bus.publish([answer.envelope(correlation_id=order["id"])])

    async def cancelled() -> dict | None:
        o = await intake.order(order["id"])
        return o if o["status"] == "cancelled" else None

    final = await eventually(cancelled)
    assert final["timeline"][-1]["reason"] == "cancelled at the supplier(s)"
    await intake.tap.wait_for("order.cancelled", order_id=order["id"])


async def test_address_change_answered_by_suppliers_is_applied(
    intake: Intake, custom_shop: str
) -> None:
    from dropship_common.contracts.order_intake import AddressV1
    from dropship_common.contracts.supplier_gateway import (
        SupplierAddressChangeAnswered,
        SupplierOrderPlaced,
    )

    order = (
        await intake.client.post("/v1/orders", headers=intake.h, json=order_body(custom_shop))
    ).json()
    oid = uuid.UUID(order["id"])
    now = dt.datetime.now(dt.UTC)
    so = uuid.uuid4()
    placed = SupplierOrderPlaced(
        order_id=oid, supplier_order_id=so, supplier_id=uuid.uuid4(), placed_at=now
    )
    await intake.tap.bus.publish([placed.envelope(correlation_id=order["id"])])

    async def handed_off() -> bool:
        return (await intake.order(order["id"]))["handed_off_at"] is not None

    await eventually(handed_off)
    new = {**order["shipping_address"], "line1": "Friedrichstr. 100"}
    answer = SupplierAddressChangeAnswered(
        order_id=oid,
        shipping_address=AddressV1.model_validate(new),
        applied=[so],
        too_late=[],
        answered_at=now,
    )
    await intake.tap.bus.publish([answer.envelope(correlation_id=order["id"])])

    async def applied() -> dict | None:
        o = await intake.order(order["id"])
        return o if o["shipping_address"]["line1"] == "Friedrichstr. 100" else None

    final = await eventually(applied)
    assert final["timeline"][-1]["kind"] == "address_change_applied"


async def test_a_shops_own_payment_window_and_reminder_days(intake: Intake) -> None:
    import sqlalchemy as sa

    from order_intake.models import BuyerMessage

    shop_id = await create_shop(
        intake.client,
        intake.h,
        platform="custom",
        domain="week.example.de",
        secret="week-secret-1",
        skus=("MUG-1",),
        payment_window_days=7,
        payment_reminder_days=[1, 5],
    )
    placed = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    body = order_body(shop_id, payment_status="pending", placed_at=placed.isoformat())
    order = (await intake.client.post("/v1/orders", headers=intake.h, json=body)).json()
    assert order["status"] == "awaiting_payment"
    rt = intake.svc.runtime

    async def messages() -> list[tuple[str, str, str]]:
        async with rt.db.sessions() as s:
            rows = await s.execute(
                sa.select(BuyerMessage.kind, BuyerMessage.subject, BuyerMessage.body)
                .where(BuyerMessage.order_id == uuid.UUID(order["id"]))
                .order_by(BuyerMessage.created_at)
            )
            return [tuple(r) for r in rows.all()]  # type: ignore[misc]

    swept = [await sweep_payments(rt, placed + dt.timedelta(days=d, hours=1)) for d in (1, 2, 5, 7)]
    assert swept == [
        {"reminded": 1, "cancelled": 0},  # day 1
        {"reminded": 0, "cancelled": 0},
        {"reminded": 1, "cancelled": 0},  # day 5
        {"reminded": 0, "cancelled": 1},  # the 7-day window is over
    ]
    kinds = [k for k, _, _ in await messages()]
    assert kinds == ["payment_reminder", "payment_reminder", "order_cancelled_unpaid"]
    reminder_body = (await messages())[0][2]
    assert "2026-11-09" in reminder_body  # the deadline: placed + 7 days
    final = await intake.order(order["id"])
    assert "not paid within 7 days" in final["timeline"][-1]["reason"]
    assert [e["reason"] for e in final["timeline"] if e["kind"] == "payment_reminder"] == [
        "day 1",
        "day 5",
    ]
