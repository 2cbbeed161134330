"""The webhook processor's batch paths give the same orders, timelines, buyer messages
and events: the bulk path (a batch of order versions, new rows written by statement),
the mixed batch (ORM unit of work) and one delivery at a time.

The service runs as an API process (no background workers), so the test decides what
a batch holds and calls the processor itself."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.storefront import create_shop, shopify_headers, shopify_order
from order_intake.main import SPEC
from order_intake.models import BuyerMessage, Order, OrderEvent, OrderLine, WebhookDelivery
from order_intake.webhooks.processor import BATCH_FALLBACKS, WebhookProcessor

pytestmark = pytest.mark.integration

SECRET = "shpss_batch_secret"
DOMAIN = "batch-shop.myshopify.com"
UNPAID = {"financial_status": "pending"}


def versions() -> list[tuple[str, bytes]]:
    """Two new orders, one of them updated (newer note) and paid later in the batch,
    and one that stays unpaid; an older version arriving last is ignored."""
    return [
        ("orders/create", shopify_order(id=1001, name="#1001")),
        ("orders/create", shopify_order(id=1002, name="#1002", **UNPAID)),
        (
            "orders/updated",
            shopify_order(
                id=1001,
                name="#1001",
                note="leave at the door",
                updated_at="2030-01-01T00:00:00-05:00",
            ),
        ),
        ("orders/create", shopify_order(id=1003, name="#1003", **UNPAID)),
        (
            "orders/paid",
            shopify_order(id=1003, name="#1003", updated_at="2030-01-02T00:00:00-05:00"),
        ),
        ("orders/create", shopify_order(id=1002, name="#1002", updated_at="2000-01-01T00:00:00Z")),
    ]


async def post_all(svc: RunningService, deliveries: list[tuple[str, bytes]]) -> None:
    for i, (topic, body) in enumerate(deliveries):
        headers = shopify_headers(body, SECRET, topic=topic, domain=DOMAIN, webhook_id=f"w{i}")
        r = await svc.client.post("/webhooks/shopify", content=body, headers=headers)
        assert r.json()["status"] == "accepted", r.text


async def outcome(svc: RunningService) -> dict[str, Any]:
    """What the processing left, keyed by storefront order id (ids differ per run)."""
    db = svc.runtime.db
    async with db.sessions() as s:
        orders = {o.id: o for o in await s.scalars(sa.select(Order))}
        lines = (await s.execute(sa.select(OrderLine.order_id, OrderLine.sku))).all()
        events = (
            await s.execute(
                sa.select(OrderEvent.order_id, OrderEvent.kind, OrderEvent.to_status).order_by(
                    OrderEvent.id
                )
            )
        ).all()
        messages = (await s.execute(sa.select(BuyerMessage.order_id, BuyerMessage.kind))).all()
        outbox = svc.runtime.outbox.table
        envelopes = (await s.execute(sa.select(outbox.c.envelope).order_by(outbox.c.id))).all()
        deliveries = list(await s.scalars(sa.select(WebhookDelivery)))
    ext = {oid: o.external_id for oid, o in orders.items()}
    return {
        "orders": {
            o.external_id: (o.status, o.note, o.number, str(o.total_price), o.ship_by is not None)
            for o in orders.values()
        },
        "lines": sorted((ext[oid], sku) for oid, sku in lines),
        "timeline": {e: [(k, t) for oid, k, t in events if ext[oid] == e] for e in ext.values()},
        "messages": sorted((ext[oid], kind) for oid, kind in messages),
        "events": sorted(
            (env["type"], ext[uuid.UUID(env["correlation_id"])]) for (env,) in envelopes
        ),
        "deliveries": sorted((d.status, d.body is None, d.order_id in ext) for d in deliveries),
    }


async def start(start_service) -> RunningService:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, role="api")
    await create_shop(svc.client, svc.admin_headers, domain=DOMAIN, secret=SECRET)
    return svc


async def test_a_batch_of_order_versions_ends_as_one_delivery_at_a_time_does(
    start_service,  # type: ignore[no-untyped-def]
) -> None:
    bulk = await start(start_service)
    await post_all(bulk, versions())
    processor = WebhookProcessor(bulk.runtime)
    fallbacks = BATCH_FALLBACKS._value.get()
    assert await processor.process_batch() == 6
    assert BATCH_FALLBACKS._value.get() == fallbacks  # the bulk path, not its fallback
    got = await outcome(bulk)

    one_by_one = await start(start_service)
    await post_all(one_by_one, versions())
    processor = WebhookProcessor(one_by_one.runtime)
    async with one_by_one.runtime.db.transaction() as session:
        deliveries = list(
            await session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.received_at))
        )
        await processor._one_by_one(session, deliveries)
    expected = await outcome(one_by_one)

    assert got == expected
    # and what that is, spelled out
    assert got["orders"] == {
        "1001": ("confirmed", "leave at the door", "#1001", "409.9400", True),
        "1002": ("awaiting_payment", None, "#1002", "409.9400", False),
        "1003": ("confirmed", None, "#1003", "409.9400", True),
    }
    assert got["timeline"]["1002"] == [
        ("received", None),
        ("status_changed", "awaiting_payment"),
        ("stale_version_ignored", None),
    ]
    assert got["messages"] == [("1001", "order_confirmed"), ("1003", "order_confirmed")]
    assert got["events"] == [("order.confirmed", "1001"), ("order.confirmed", "1003")]
    assert len(got["lines"]) == 9
    assert got["deliveries"] == [("processed", True, True)] * 6


async def test_a_mixed_batch_is_processed_by_the_unit_of_work(
    start_service,  # type: ignore[no-untyped-def]
) -> None:
    """A redaction in the batch reads orders back: the batch is not bulk-written, and
    the order created earlier in the same batch is redacted."""
    svc = await start(start_service)
    redact = (
        b'{"shop_id": 1, "shop_domain": "%s", "customer": {"id": 115310627314723954,'
        b' "email": "bob.norman@mail.example.com"}, "orders_to_redact": [1001]}' % DOMAIN.encode()
    )
    await post_all(svc, [versions()[0], ("customers/redact", redact)])
    assert await WebhookProcessor(svc.runtime).process_batch() == 2
    async with svc.runtime.db.sessions() as s:
        order = await s.scalar(sa.select(Order).where(Order.external_id == "1001"))
    assert order is not None and order.status == "confirmed"
    assert order.redacted_at is not None
    assert order.buyer_email is None
    # the order.confirmed held for the batch goes out before the order.redacted that
    # follows it, so the supplier-gateway's copy is scrubbed after it was made
    outbox = svc.runtime.outbox.table
    async with svc.runtime.db.sessions() as s:
        types = (
            await s.scalars(
                sa.select(outbox.c.type)
                .where(outbox.c.correlation_id == str(order.id))
                .order_by(outbox.c.created_at, outbox.c.id)
            )
        ).all()
    assert types == ["order.confirmed", "order.redacted"]
