"""``supplier.order_rejected`` (no backup supplier left) puts the order on hold until an
operator decides: wait / substitute (release: ``order.confirmed`` again) or cancel."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from dropship_common.contracts.supplier_gateway import (
    SupplierCancellationAnswered,
    SupplierOrderPlaced,
    SupplierOrderRejected,
)
from dropship_testkit.storefront import shopify_headers, shopify_order
from dropship_testkit.tap import eventually

from .conftest import DOMAIN, SECRET, Intake

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


async def placed_shopify_order(intake: Intake) -> dict[str, Any]:
    body = shopify_order()
    r = await intake.client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, SECRET, domain=DOMAIN)
    )
    assert r.status_code == 200, r.text
    order = await intake.wait_order("450789469", "confirmed")
    placed = SupplierOrderPlaced(
        order_id=uuid.UUID(order["id"]),
        supplier_order_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        placed_at=NOW,
    )
    await intake.tap.bus.publish([placed.envelope(correlation_id=order["id"])])

    async def handed_off() -> dict[str, Any] | None:
        o = await intake.order(order["id"])
        return o if o["handed_off_at"] else None

    return await eventually(handed_off)


def rejection(
    order: dict[str, Any], supplier_order_id: uuid.UUID | None = None
) -> SupplierOrderRejected:
    return SupplierOrderRejected(
        order_id=uuid.UUID(order["id"]),
        supplier_order_id=supplier_order_id or uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        reason="out_of_stock",
        note="green sold out",
        restock_date=dt.date(2026, 12, 20),
        line_ids=[uuid.UUID(order["lines"][0]["id"])],
        rejected_at=NOW,
    )


async def held(intake: Intake, order_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        o = await intake.order(order_id)
        return o if o["status"] == "on_hold" else None

    return await eventually(probe)


async def test_rejection_without_backup_holds_the_order_with_the_reason(intake: Intake) -> None:
    order = await placed_shopify_order(intake)
    event = rejection(order)
    envelope = event.envelope(correlation_id=order["id"])
    await intake.tap.bus.publish([envelope])
    o = await held(intake, order["id"])
    [hold] = o["hold_reasons"]
    assert hold["code"] == "supplier_rejected"
    assert hold["details"]["reason"] == "out_of_stock"
    assert hold["details"]["restock_date"] == "2026-12-20"
    assert hold["details"]["line_ids"] == [order["lines"][0]["id"]]
    assert hold["details"]["options"] == ["wait_for_restock", "substitute", "cancel"]
    move = o["timeline"][-1]
    assert (move["kind"], move["from_status"], move["to_status"]) == (
        "status_changed",
        "confirmed",
        "on_hold",
    )
    assert move["reason"] == "held: supplier_rejected (out_of_stock)"
    assert move["actor"] == "service:supplier-gateway"
    assert move["cause"] == f"message:{envelope.id}"

    # a newer storefront version of the order does not release it
    newer = shopify_order(updated_at="2026-12-01T10:00:00-05:00", note="please hurry")
    r = await intake.client.post(
        "/webhooks/shopify", content=newer, headers=shopify_headers(newer, SECRET, domain=DOMAIN)
    )
    assert r.status_code == 200

    async def updated() -> dict[str, Any] | None:
        current = await intake.order(order["id"])
        return current if current["note"] == "please hurry" else None

    after = await eventually(updated)
    assert after["status"] == "on_hold"
    assert [h["code"] for h in after["hold_reasons"]] == ["supplier_rejected"]
    assert len(intake.tap.of_type("order.confirmed", order_id=order["id"])) == 1


async def test_release_confirms_again_and_republishes_with_a_substitute(intake: Intake) -> None:
    order = await placed_shopify_order(intake)
    await intake.tap.bus.publish([rejection(order).envelope(correlation_id=order["id"])])
    await held(intake, order["id"])
    line = order["lines"][0]
    r = await intake.client.put(
        f"/v1/orders/{order['id']}/lines/{line['id']}/sku",
        headers=intake.h,
        json={"sku": "IPOD2008RED"},
    )
    assert r.status_code == 200, r.text
    r = await intake.client.post(f"/v1/orders/{order['id']}/release", headers=intake.h)
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["status"] == "confirmed" and released["hold_reasons"] == []
    move = released["timeline"][-1]
    assert (move["from_status"], move["to_status"]) == ("on_hold", "confirmed")
    assert move["actor"] == "admin-token"
    first, again = await intake.tap.wait_for("order.confirmed", count=2, order_id=order["id"])
    assert first.payload["lines"][0]["sku"] == "IPOD2008GREEN"
    assert again.payload["lines"][0]["sku"] == "IPOD2008RED"


async def test_a_second_rejection_adds_its_reason_and_a_redelivery_adds_none(
    intake: Intake,
) -> None:
    order = await placed_shopify_order(intake)
    first = rejection(order)
    envelope = first.envelope(correlation_id=order["id"])
    await intake.tap.bus.publish([envelope])
    await held(intake, order["id"])
    # the same rejection republished (new message id), then another supplier's
    await intake.tap.bus.publish([first.envelope(correlation_id=order["id"])])
    await intake.tap.bus.publish([rejection(order).envelope(correlation_id=order["id"])])

    async def two() -> dict[str, Any] | None:
        o = await intake.order(order["id"])
        kinds = [e["kind"] for e in o["timeline"]]
        return o if kinds.count("supplier_rejected") == 3 else None

    o = await eventually(two)
    assert [h["code"] for h in o["hold_reasons"]] == ["supplier_rejected", "supplier_rejected"]
    assert len({h["details"]["supplier_order_id"] for h in o["hold_reasons"]}) == 2


async def test_the_operator_cancels_a_held_order(intake: Intake) -> None:
    order = await placed_shopify_order(intake)
    rejected = rejection(order)
    await intake.tap.bus.publish([rejected.envelope(correlation_id=order["id"])])
    await held(intake, order["id"])
    r = await intake.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=intake.h, json={"reason": "no stock, refund"}
    )
    assert r.json()["result"] == "requested"
    await intake.tap.wait_for("order.cancellation_requested", order_id=order["id"])
    answer = SupplierCancellationAnswered(
        order_id=uuid.UUID(order["id"]),
        cancelled=[rejected.supplier_order_id],
        already_shipped=[],
        answered_at=NOW,
    )
    await intake.tap.bus.publish([answer.envelope(correlation_id=order["id"])])

    async def cancelled() -> dict[str, Any] | None:
        o = await intake.order(order["id"])
        return o if o["status"] == "cancelled" else None

    final = await eventually(cancelled)
    move = final["timeline"][-1]
    assert (move["from_status"], move["to_status"]) == ("on_hold", "cancelled")
    await intake.tap.wait_for("order.cancelled", order_id=order["id"])
