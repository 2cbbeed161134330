"""Shopify webhooks on real PostgreSQL + RabbitMQ, with the vendor's real payload."""

from __future__ import annotations

import asyncio
import json

import pytest

from dropship_testkit.storefront import shopify_headers, shopify_order, shopify_order_body
from dropship_testkit.tap import eventually

from .conftest import DOMAIN, SECRET, Intake

pytestmark = pytest.mark.integration


async def post(intake: Intake, body: bytes, **kw: str) -> tuple[int, dict]:
    headers = shopify_headers(body, kw.pop("secret", SECRET), domain=DOMAIN, **kw)
    r = await intake.client.post("/webhooks/shopify", content=body, headers=headers)
    return r.status_code, r.json()


async def test_fixture_order_is_confirmed_published_and_has_a_timeline(intake: Intake) -> None:
    status, body = await post(intake, shopify_order_body(), webhook_id="wh-1")
    assert (status, body) == (200, {"status": "accepted", "delivery_id": "wh-1"})

    order = await intake.wait_order("450789469", "confirmed")
    assert order["number"] == "#1001"
    assert order["payment_status"] == "authorized"
    assert [ln["sku"] for ln in order["lines"]] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert order["shipping_address"]["country_code"] == "US"
    assert order["shipping_address"]["phone"] == "+15556251199"
    assert [w["code"] for w in order["warnings"]] == ["phone_doubtful"]
    kinds = [(e["kind"], e["to_status"]) for e in order["timeline"]]
    assert kinds == [("received", None), ("status_changed", "confirmed")]
    assert order["timeline"][1]["cause"] == "orders/create#wh-1"
    assert order["timeline"][1]["actor"] == "webhook:shopify"

    [event] = await intake.tap.wait_for("order.confirmed", order_id=order["id"])
    p = event.payload
    assert event.correlation_id == order["id"]
    assert p["external_id"] == "450789469"
    assert p["shipping_address"]["postal_code"] == "40202"
    assert {"name": "custom engraving", "value": "Happy Birthday"} in p["note_attributes"]
    assert p["lines"][0]["properties"] == [{"name": "Custom Engraving", "value": "Happy Birthday"}]
    assert float(p["lines"][0]["unit_price"]) == 199
    assert p["ship_by"] == order["ship_by"]
    # the raw body (personal data) is not kept once processed
    [delivery] = await intake.deliveries()
    assert delivery["status"] == "processed" and delivery["order_id"] == order["id"]


async def test_replayed_delivery_is_answered_200_and_has_no_effect(intake: Intake) -> None:
    body = shopify_order_body()
    assert (await post(intake, body, webhook_id="wh-dup"))[1]["status"] == "accepted"
    order = await intake.wait_order("450789469", "confirmed")
    status, answer = await post(intake, body, webhook_id="wh-dup")
    assert (status, answer["status"]) == (200, "duplicate")
    assert len(await intake.deliveries()) == 1
    assert len(await intake.orders()) == 1
    # a second delivery id with the same content is one order, one confirmation
    assert (await post(intake, body, webhook_id="wh-other"))[1]["status"] == "accepted"
    await intake.wait_order("450789469", "confirmed")
    again = await intake.order(order["id"])
    assert [e["to_status"] for e in again["timeline"] if e["kind"] == "status_changed"] == [
        "confirmed"
    ]
    assert len(intake.tap.of_type("order.confirmed", order_id=order["id"])) == 1


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h, b: h.update({"x-shopify-hmac-sha256": "Zm9yZ2Vk"}), "invalid_signature"),
        (lambda h, b: h.pop("x-shopify-hmac-sha256"), "invalid_signature"),
        (
            lambda h, b: h.update({"x-shopify-shop-domain": "nope.myshopify.com"}),
            "invalid_signature",
        ),
    ],
    ids=["forged", "missing", "unknown-shop"],
)
async def test_bad_signature_or_shop_is_401_and_stores_nothing(
    intake: Intake, mutate, code
) -> None:
    body = shopify_order_body()
    headers = shopify_headers(body, SECRET, domain=DOMAIN)
    mutate(headers, body)
    r = await intake.client.post("/webhooks/shopify", content=body, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == code
    assert await intake.deliveries() == []


async def test_tampered_body_is_refused(intake: Intake) -> None:
    body = shopify_order_body()
    headers = shopify_headers(body, SECRET, domain=DOMAIN)
    tampered = body.replace(b'"409.94"', b'"1.00"')
    assert tampered != body
    r = await intake.client.post("/webhooks/shopify", content=tampered, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
    assert await intake.deliveries() == []


async def test_signed_with_wrong_secret_is_refused(intake: Intake) -> None:
    status, body = await post(intake, shopify_order_body(), secret="not-the-secret")
    assert status == 401 and body["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"id": 1, "line_items": [', 400, "invalid_json"),
        (shopify_order(id="not-a-number"), 422, "validation_error"),
        (shopify_order(line_items={"sku": "x"}), 422, "validation_error"),
        (json.dumps({"id": 5}).encode(), 422, "validation_error"),
    ],
    ids=["invalid-json", "wrong-type-id", "wrong-type-lines", "missing-fields"],
)
async def test_bad_body_is_a_clear_error_and_stores_nothing(
    intake: Intake, body: bytes, status: int, code: str
) -> None:
    got, answer = await post(intake, body)
    assert got == status
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]
    if code == "validation_error":
        assert answer["error"]["details"], "the fields at fault are named"
    assert await intake.deliveries() == []
    assert await intake.orders() == []


async def test_body_over_one_mebibyte_is_413(intake: Intake) -> None:
    body = shopify_order(note="x" * (1024 * 1024 + 10))
    got, answer = await post(intake, body)
    assert got == 413 and answer["error"]["code"] == "payload_too_large"
    assert await intake.deliveries() == []


async def test_rotated_secrets_previous_accepted_until_next_rotation(intake: Intake) -> None:
    r = await intake.client.patch(
        f"/v1/shops/{intake.shop_id}", headers=intake.h, json={"webhook_secret": "new-secret-2"}
    )
    assert r.status_code == 200 and r.json()["webhook_secrets_count"] == 2
    assert (await post(intake, shopify_order(id=1), secret="new-secret-2"))[0] == 200
    assert (await post(intake, shopify_order(id=2), secret=SECRET))[0] == 200
    await intake.client.patch(
        f"/v1/shops/{intake.shop_id}", headers=intake.h, json={"webhook_secret": "third-secret-3"}
    )
    assert (await post(intake, shopify_order(id=3), secret=SECRET))[0] == 401
    assert (await post(intake, shopify_order(id=4), secret="new-secret-2"))[0] == 200


async def test_create_paid_updated_in_any_order_is_one_order_with_newest_data(
    intake: Intake,
) -> None:
    created = shopify_order(
        financial_status="pending", updated_at="2008-01-10T11:00:00-05:00", note="first"
    )
    paid = shopify_order(
        financial_status="paid", updated_at="2008-01-10T12:00:00-05:00", note="paid"
    )
    updated = shopify_order(
        financial_status="paid", updated_at="2008-01-10T13:00:00-05:00", note="newest"
    )
    # newest first, then the older ones arrive late
    await post(intake, updated, topic="orders/updated")
    order = await intake.wait_order("450789469", "confirmed")
    await post(intake, paid, topic="orders/paid")
    await post(intake, created, topic="orders/create")

    async def all_processed() -> bool:
        return len(await intake.deliveries("processed")) == 3

    await eventually(all_processed)
    final = await intake.order(order["id"])
    assert final["note"] == "newest"
    assert final["status"] == "confirmed"
    assert final["payment_status"] == "paid"
    assert [e["kind"] for e in final["timeline"]].count("stale_version_ignored") == 2
    assert len(await intake.orders()) == 1


async def test_unpaid_order_waits_then_payment_confirms_it(intake: Intake) -> None:
    await post(intake, shopify_order(financial_status="pending"), topic="orders/create")
    order = await intake.wait_order("450789469", "awaiting_payment")
    assert intake.tap.of_type("order.confirmed") == []
    await post(
        intake,
        shopify_order(financial_status="paid", updated_at="2008-01-11T11:00:00-05:00"),
        topic="orders/paid",
    )
    confirmed = await intake.wait_order("450789469", "confirmed")
    assert confirmed["id"] == order["id"]
    transitions = [
        (e["from_status"], e["to_status"])
        for e in confirmed["timeline"]
        if e["kind"] == "status_changed"
    ]
    assert transitions == [(None, "awaiting_payment"), ("awaiting_payment", "confirmed")]


async def test_cancelled_at_storefront_before_handoff_publishes_order_cancelled(
    intake: Intake,
) -> None:
    await post(intake, shopify_order_body())
    order = await intake.wait_order("450789469", "confirmed")
    await post(
        intake,
        shopify_order(
            cancelled_at="2008-01-11T11:00:00-05:00",
            cancel_reason="customer",
            updated_at="2008-01-11T11:00:00-05:00",
        ),
        topic="orders/cancelled",
    )
    await intake.wait_order("450789469", "cancelled")
    [event] = await intake.tap.wait_for("order.cancelled", order_id=order["id"])
    assert event.payload["reason"] == "cancelled at the storefront"


async def customers_redact(intake: Intake, order_ids: list[int]) -> tuple[int, dict]:
    """Shopify's ``customers/redact`` for the fixture's buyer and these orders."""
    body = {
        "shop_id": 954889,
        "shop_domain": DOMAIN,
        "customer": {"id": 207119551, "email": "bob.norman@hostmail.com", "phone": "555-625-1199"},
        "orders_to_redact": order_ids,
    }
    return await post(intake, json.dumps(body).encode(), topic="customers/redact")


async def redacted(intake: Intake, order_id: str) -> dict:
    """The order once its redaction has been processed."""

    async def probe() -> dict | None:
        o = await intake.order(order_id)
        return o if o["buyer"] == {"redacted": True} else None

    return await eventually(probe)  # type: ignore[no-any-return]


async def test_customers_redact_removes_personal_data(intake: Intake) -> None:
    await post(intake, shopify_order_body())
    order = await intake.wait_order("450789469", "confirmed")
    status, answer = await customers_redact(intake, [450789469, 450789469])  # one order
    assert (status, answer["status"]) == (200, "accepted")
    o = await redacted(intake, order["id"])
    # supplier-gateway is told, with no personal data in the event itself
    [told] = await intake.tap.wait_for("order.redacted", order_id=order["id"])
    assert set(told.payload) == {"order_id", "shop_id", "redacted_at"}
    assert o["shipping_address"] == {"country_code": "US"}
    assert "bob" not in json.dumps(o).lower()
    # the fixture's phone is doubtful: its warning quoted it, in the order and timeline
    for quoted in ("555-625-1199", "5556251199"):  # as given, and in E.164
        assert quoted not in json.dumps(o), o["warnings"]
    [warning] = [w for w in o["warnings"] if w["code"] == "phone_doubtful"]
    assert warning["field"] == "shipping_address.phone" and "phone" not in warning["details"]
    # the sent order.confirmed (it carries the address) left the outbox too
    import sqlalchemy as sa

    outbox = intake.svc.runtime.tables.outbox
    async with intake.svc.runtime.db.sessions() as s:
        left = (await s.execute(sa.select(outbox.c.type))).scalars().all()
    assert "order.confirmed" not in left
    r = await intake.client.get("/v1/compliance-requests", headers=intake.h)
    [req] = r.json()
    assert (req["topic"], req["orders_affected"]) == ("customers/redact", 1)


async def test_update_of_confirmed_order_publishes_address_change_only_when_it_changed(
    intake: Intake,
) -> None:
    await post(intake, shopify_order_body())
    order = await intake.wait_order("450789469", "confirmed")
    await post(
        intake,
        shopify_order(note="only the note", updated_at="2008-01-11T11:00:00-05:00"),
        topic="orders/updated",
    )

    async def processed(n: int) -> bool:
        return len(await intake.deliveries("processed")) == n

    await eventually(lambda: processed(2))
    assert "address_changed" not in [
        e["kind"] for e in (await intake.order(order["id"]))["timeline"]
    ]
    moved = json.loads(shopify_order_body())
    moved["shipping_address"]["address1"] = "Main Street 1"
    moved["updated_at"] = "2008-01-12T11:00:00-05:00"
    await post(intake, json.dumps(moved).encode(), topic="orders/updated")
    [event] = await intake.tap.wait_for("order.address_changed", order_id=order["id"])
    assert event.payload["shipping_address"]["line1"] == "Main Street 1"
    assert event.payload["shipping_address"]["phone"] == "+15556251199"  # normalised
    assert len(intake.tap.of_type("order.address_changed")) == 1


async def test_concurrent_copies_of_one_delivery_one_accepted(intake: Intake) -> None:
    body = shopify_order_body()
    headers = shopify_headers(body, SECRET, domain=DOMAIN, webhook_id="wh-same")
    answers = await asyncio.gather(
        *(intake.client.post("/webhooks/shopify", content=body, headers=headers) for _ in range(6))
    )
    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(a.json()["status"] for a in answers) == ["accepted"] + ["duplicate"] * 5
    assert len(await intake.deliveries()) == 1


async def test_one_bad_delivery_does_not_hold_back_the_others(intake: Intake, monkeypatch) -> None:
    from order_intake.webhooks import processor

    real = processor.parse_order

    def failing_for_one(delivery):  # type: ignore[no-untyped-def]
        if delivery.delivery_id == "wh-bad":
            raise ValueError("cannot make an order of it")
        return real(delivery)

    monkeypatch.setattr(processor, "parse_order", failing_for_one)
    # both arrive before the processor runs, so they share a batch
    answers = await asyncio.gather(
        post(intake, shopify_order(id=777), webhook_id="wh-bad"),
        post(intake, shopify_order(id=778), webhook_id="wh-good"),
    )
    assert [a[1]["status"] for a in answers] == ["accepted", "accepted"]
    await intake.wait_order("778", "confirmed")

    async def retried() -> list | None:
        found = [d for d in await intake.deliveries() if d["delivery_id"] == "wh-bad"]
        return found if found and found[0]["attempts"] >= 1 else None

    [delivery] = await eventually(retried)
    assert delivery["status"] == "pending"  # retried later with backoff, then parked
    assert "cannot make an order of it" in delivery["last_error"]
    assert [o["external_id"] for o in await intake.orders()] == ["778"]


async def test_database_down_is_503_and_the_storefront_retries(intake: Intake, monkeypatch) -> None:
    from order_intake.webhooks.intake import DeliveryWriter

    async def unreachable(self, rows):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("connection refused")

    with monkeypatch.context() as m:
        m.setattr(DeliveryWriter, "_write", unreachable)
        status, answer = await post(intake, shopify_order_body(), webhook_id="wh-down")
    assert (status, answer["error"]["code"]) == (503, "unavailable")
    # the retry, once the database is back, is accepted as new
    status, answer = await post(intake, shopify_order_body(), webhook_id="wh-down")
    assert (status, answer["status"]) == (200, "accepted")
    await intake.wait_order("450789469", "confirmed")


async def test_database_down_when_the_shop_is_read_is_503_not_500(
    intake: Intake, monkeypatch
) -> None:
    """A shop not in the cache (or expired) is read from the database: unreachable, the
    answer is 503 so that the storefront delivers again (found by bench.faults)."""
    from order_intake.webhooks.intake import ShopCache

    async def unreachable(self, platform, key, now):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("connection refused")

    intake.svc.runtime.state["shop_cache"].clear()
    with monkeypatch.context() as m:
        m.setattr(ShopCache, "_read", unreachable)
        status, answer = await post(intake, shopify_order_body(), webhook_id="wh-shop-down")
    assert (status, answer["error"]["code"]) == (503, "unavailable")
    status, answer = await post(intake, shopify_order_body(), webhook_id="wh-shop-down")
    assert (status, answer["status"]) == (200, "accepted")


async def test_webhook_id_longer_than_its_column_is_400_and_stores_nothing(
    intake: Intake,
) -> None:
    # the header is not signed; too long, it would fail the batch it is written in
    status, answer = await post(intake, shopify_order_body(), webhook_id="w" * 201)
    assert (status, answer["error"]["code"]) == (400, "bad_request")
    assert await intake.deliveries() == []
    status, answer = await post(intake, shopify_order_body(), webhook_id="w" * 200)
    assert (status, answer["status"]) == (200, "accepted")


async def test_a_statement_failing_in_the_database_is_503(intake: Intake, monkeypatch) -> None:
    """The writer's statement goes to asyncpg directly: its errors still answer 503."""
    from order_intake.webhooks import intake as intake_module

    broken = intake_module._INSERT_PG.replace("webhook_deliveries", "no_such_table", 1)
    with monkeypatch.context() as m:
        m.setattr(intake_module, "_INSERT_PG", broken)
        status, answer = await post(intake, shopify_order_body(), webhook_id="wh-broken")
    assert (status, answer["error"]["code"]) == (503, "unavailable")
    assert await intake.deliveries() == []
    status, answer = await post(intake, shopify_order_body(), webhook_id="wh-broken")
    assert (status, answer["status"]) == (200, "accepted")


async def test_customers_redact_scrubs_what_hold_reasons_quoted(intake: Intake) -> None:
    held = json.loads(shopify_order_body())
    held["shipping_address"]["zip"] = "QX-4471"  # not a US ZIP code: held, and quoted
    await post(intake, json.dumps(held).encode())
    order = await intake.wait_order("450789469", "on_hold")
    assert "QX-4471" in json.dumps(order)  # in the hold reason and its timeline entry
    status, _ = await customers_redact(intake, [450789469])
    assert status == 200
    o = await redacted(intake, order["id"])
    assert "QX-4471" not in json.dumps(o)
    [held] = o["hold_reasons"]
    assert (held["code"], held["field"]) == ("invalid_postal_code", "shipping_address.postal_code")
    assert held["details"] == {"country_code": "US"} and held["message"]
    assert [e["kind"] for e in o["timeline"]][-1] == "redacted"


async def test_customers_data_request_is_recorded_for_the_merchant(intake: Intake) -> None:
    await post(intake, shopify_order_body())
    order = await intake.wait_order("450789469", "confirmed")
    request = json.dumps(
        {
            "shop_id": 954889,
            "shop_domain": DOMAIN,
            "customer": {"id": 207119551, "email": "bob.norman@hostmail.com"},
            "orders_requested": [450789469, 999],
            "data_request": {"id": 9999},
        }
    ).encode()
    status, answer = await post(intake, request, topic="customers/data_request")
    assert (status, answer["status"]) == (200, "accepted")

    async def recorded() -> list | None:  # type: ignore[type-arg]
        r = await intake.client.get("/v1/compliance-requests", headers=intake.h)
        return r.json() or None

    [req] = await eventually(recorded)
    assert (req["topic"], req["customer_external_id"]) == ("customers/data_request", "207119551")
    assert (req["order_external_ids"], req["orders_affected"]) == (["450789469", "999"], 1)
    # nothing is removed by a data request
    assert (await intake.order(order["id"]))["buyer"]["email"] == "bob.norman@hostmail.com"


async def test_shop_redact_removes_every_buyer_and_the_shop_credentials(intake: Intake) -> None:
    await post(intake, shopify_order_body())
    first = await intake.wait_order("450789469", "confirmed")
    await post(intake, shopify_order(id=450789470, name="#1002"))
    second = await intake.wait_order("450789470", "confirmed")
    status, _ = await post(
        intake,
        json.dumps({"shop_id": 954889, "shop_domain": DOMAIN}).encode(),
        topic="shop/redact",
    )
    assert status == 200

    async def redacted() -> list | None:  # type: ignore[type-arg]
        orders = [await intake.order(o["id"]) for o in (first, second)]
        return orders if all(o["buyer"] == {"redacted": True} for o in orders) else None

    for o in await eventually(redacted):
        assert "bob" not in json.dumps(o).lower()
        await intake.tap.wait_for("order.redacted", order_id=o["id"])
    shops = (await intake.client.get("/v1/shops", headers=intake.h)).json()
    [shop] = [s for s in shops if s["domain"] == DOMAIN]
    assert (shop["active"], shop["has_admin_credentials"]) == (False, False)
    r = await intake.client.get("/v1/compliance-requests", headers=intake.h)
    assert [(c["topic"], c["orders_affected"]) for c in r.json()] == [("shop/redact", 2)]
