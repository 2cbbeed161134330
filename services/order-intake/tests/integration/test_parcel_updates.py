"""What logistics says of a parcel reaches the order, the storefront and the buyer:
``shipment.*`` events on real PostgreSQL + RabbitMQ, milestones at a fake Shopify
(``fulfillmentEventCreate``) and WooCommerce, the buyer's messages in the mail folder.
Each milestone and message once, whatever arrives twice or late."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from dropship_common.contracts.logistics import (
    ShipmentDeliveryWindowExtended,
    ShipmentFollowUp,
    ShipmentStalled,
    ShipmentStatusChanged,
)
from dropship_common.tracking_links import parcel_token
from dropship_testkit.tap import eventually

from .test_fulfilment import NUMBER, NUMBER_2, World, shopify_order, tracking, woo_order
from .test_fulfilment import w as w  # the fixture

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def parcel_fields(order: dict[str, Any], status: str, so: uuid.UUID) -> dict[str, Any]:
    return {
        "parcel_id": uuid.uuid5(uuid.NAMESPACE_URL, NUMBER),
        "order_id": uuid.UUID(order["id"]),
        "supplier_order_id": so,
        "shop_id": None,
        "tracking_number": NUMBER,
        "carrier": "chinapost",
        "carrier_name": "China Post",
        "status": status,
        "tracking_page": "/track/abc",
        "window_from": dt.date(2026, 12, 13),
        "window_to": dt.date(2027, 1, 10),
    }


def changed(
    order: dict[str, Any],
    so: uuid.UUID,
    previous: str,
    status: str,
    hours: float,
    notice: str | None,
) -> ShipmentStatusChanged:
    return ShipmentStatusChanged(
        **parcel_fields(order, status, so),
        previous_status=previous,
        occurred_at=T0 + dt.timedelta(hours=hours),
        description=f"scan: {status}",
        location="Berlin",
        buyer_notice=notice,
    )


async def shipped(w: World) -> tuple[dict[str, Any], uuid.UUID]:
    order = await shopify_order(w)
    event = tracking(order)
    await w.publish(event)
    await w.fulfilments(order["id"], "sent")
    return order, event.supplier_order_id


async def milestones(w: World, order_id: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        body = await w.get(f"/v1/orders/{order_id}/fulfilments")
        done = [m for m in body["milestones"] if m["status"] in ("sent", "skipped")]
        return body["milestones"] if len(done) >= count else None

    return await eventually(probe)


async def test_milestones_reach_shopify_and_the_buyer_once_and_the_order_is_delivered(
    w: World,
) -> None:
    w.svc.runtime.settings.__dict__["tracking_page_base_url"] = "https://track.example.com"
    order, so = await shipped(w)
    road = [
        changed(order, so, "pending", "in_transit", 10, None),
        changed(order, so, "in_transit", "in_customs", 100, "customs").model_copy(
            update={"duty_likely": True, "customs_rule": "EU IOSS"}
        ),
        changed(order, so, "in_customs", "out_for_delivery", 150, "out_for_delivery"),
        changed(order, so, "out_for_delivery", "delivered", 160, "delivered"),
    ]
    for event in road:  # as logistics publishes them; the bus may reorder, see below
        await w.processed(await w.publish(event))
    again = await w.publish(road[1])  # the customs event again, as a new message
    late = await w.publish(changed(order, so, "pending", "in_transit", 5, None))  # older
    await w.processed(again)
    await w.processed(late)

    rows = await milestones(w, order["id"], 4)
    assert sorted(m["milestone"] for m in rows) == [
        "delivered",
        "in_customs",
        "in_transit",
        "out_for_delivery",
    ]
    events = w.shopify.fulfillment_events()
    assert [e["status"] for e in events] == [
        "IN_TRANSIT",
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]
    assert events[-1]["happenedAt"] == "2026-12-08T01:30:00Z"

    done = await w.get(f"/v1/orders/{order['id']}")
    assert done["status"] == "delivered"
    body = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    [parcel] = body["parcels"]
    assert parcel["status"] == "delivered"  # the late "in transit" changed nothing

    # the "shipped" e-mail links to the parcel's page on logistics, signed for the parcel
    [shipped_mail] = await w.wait_mails("has shipped")
    page = f"https://track.example.com/track/{parcel_token(so, NUMBER)}"
    assert page in shipped_mail.get_content()
    [customs] = await w.wait_mails("is at customs")
    assert "import duty or VAT is likely to be due" in customs.get_content()
    assert "https://track.example.com/track/abc" in customs.get_content()
    await w.wait_mails("out for delivery")
    [delivered] = await w.wait_mails("was delivered")
    assert NUMBER in delivered.get_content()
    assert len(w.mails("is at customs")) == 1


async def test_a_delay_extends_the_window_on_shopify_and_tells_the_buyer_once(w: World) -> None:
    order, so = await shipped(w)
    fields = parcel_fields(order, "in_transit", so)
    for _ in range(2):
        await w.publish(
            ShipmentDeliveryWindowExtended(
                **{**fields, "window_to": dt.date(2027, 1, 25)},
                previous_window_to=dt.date(2027, 1, 10),
                reason="closing",
            )
        )
    await w.publish(
        ShipmentFollowUp(**fields, due_at=T0, last_scan_at=T0, last_scan="Departed Shenzhen")
    )
    await w.publish(ShipmentStalled(**fields, last_scan_at=T0, silent_days=31, silent_route=False))
    rows = await milestones(w, order["id"], 1)
    assert [m["milestone"] for m in rows] == ["delayed"]
    [event] = w.shopify.fulfillment_events()
    assert (event["status"], event["estimatedDeliveryAt"]) == ("DELAYED", "2027-01-25T00:00:00Z")
    [delay] = await w.wait_mails("is taking longer")
    assert "2027-01-25" in delay.get_content()
    [follow_up] = await w.wait_mails("Where your parcel")
    assert "Departed Shenzhen" in follow_up.get_content()
    await w.wait_mails("still on its way")


async def test_woocommerce_hears_the_delivery_once_as_a_private_note(w: World) -> None:
    order, woo = await woo_order(w, shipment_tracking=False)
    event = tracking(order)
    await w.publish(event)
    await w.fulfilments(order["id"], "sent")
    so = event.supplier_order_id
    woo.fail_next("notes", "drop_response")  # the note is added, the answer lost
    for e in (
        changed(order, so, "pending", "in_transit", 10, None),
        changed(order, so, "in_transit", "delivered", 160, "delivered"),
    ):
        await w.processed(await w.publish(e))
    rows = await milestones(w, order["id"], 2)
    assert {m["milestone"]: m["status"] for m in rows} == {
        "in_transit": "skipped",  # WooCommerce has no place for it
        "delivered": "sent",
    }
    store = woo.orders[727]
    delivered = [n for n in store["notes"] if n["note"].startswith("Delivered:")]
    assert len(delivered) == 1 and delivered[0]["customer_note"] is False
    assert store["status"] == "completed"
    assert (await w.get(f"/v1/orders/{order['id']}"))["status"] == "delivered"


async def test_a_buyers_return_parcel_leaves_the_order_the_storefront_and_the_buyer_alone(
    w: World,
) -> None:
    """The buyer posts it back under the number of the order's own parcel (the carrier's
    return label): the one parcel order-intake knows by that number is not touched."""
    order, so = await shipped(w)
    case_id = uuid.uuid4()
    back = changed(order, case_id, "out_for_delivery", "delivered", 3, "delivered")
    back = back.model_copy(update={"return_parcel": True, "case_id": case_id})
    assert back.tracking_number == NUMBER
    await w.processed(await w.publish(back))
    # a later change of the order's own parcel is applied: the return's was not
    own = changed(order, so, "in_transit", "in_customs", 4, "customs")
    await w.processed(await w.publish(own))
    await w.wait_mails("is at customs")
    body = await w.get(f"/v1/orders/{order['id']}")
    assert body["status"] == "shipped"  # not delivered by the return's delivery
    assert not w.mails("was delivered")
    fulfilments = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    assert all(m["milestone"] != "delivered" for m in fulfilments["milestones"])

    [parcel] = (await w.get(f"/v1/orders/{order['id']}/fulfilments"))["parcels"]
    assert parcel["status"] == "in_customs"  # the order's own, not the return's delivery


async def test_a_reships_parcel_is_followed_on_a_delivered_order_that_stays_delivered(
    w: World,
) -> None:
    """A damaged order is delivered, then a replacement is shipped for its case: the
    replacement's parcel moves and the buyer is told as usual; the order stays
    delivered (never back to shipped) and the storefront is not asked again."""
    order, so = await shipped(w)
    await w.processed(await w.publish(changed(order, so, "in_transit", "delivered", 5, None)))
    assert (await w.get(f"/v1/orders/{order['id']}"))["status"] == "delivered"
    case_id = uuid.uuid4()
    reship = tracking(order, lines=[0], numbers=[NUMBER_2]).model_copy(update={"case_id": case_id})
    await w.processed(await w.publish(reship))
    fields = {"tracking_number": NUMBER_2, "case_id": case_id}
    for previous, status, hours, notice in (
        ("pending", "in_transit", 50, None),
        ("in_transit", "out_for_delivery", 90, "out_for_delivery"),
    ):
        event = changed(order, reship.supplier_order_id, previous, status, hours, notice)
        await w.processed(await w.publish(event.model_copy(update=fields)))

    assert (await w.get(f"/v1/orders/{order['id']}"))["status"] == "delivered"
    body = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    assert {p["tracking_number"]: p["status"] for p in body["parcels"]} == {
        NUMBER: "delivered",
        NUMBER_2: "out_for_delivery",
    }
    [told] = await w.wait_mails("out for delivery")
    assert NUMBER_2 in told.get_content()
    rows = await milestones(w, order["id"], 3)  # the replacement has no storefront fulfilment
    assert {(m["tracking_number"], m["milestone"], m["status"]) for m in rows} == {
        (NUMBER, "delivered", "sent"),
        (NUMBER_2, "in_transit", "skipped"),
        (NUMBER_2, "out_for_delivery", "skipped"),
    }
    assert [e["status"] for e in w.shopify.fulfillment_events()] == ["DELIVERED"]


async def test_an_order_whose_lost_parcel_was_reshipped_is_delivered_with_the_reship(
    w: World,
) -> None:
    """The original parcel never arrives (presumed lost: its status stays in transit);
    aftersales reships the lines; the replacement's delivery delivers the order."""
    order, so = await shipped(w)
    await w.processed(await w.publish(changed(order, so, "pending", "in_transit", 5, None)))
    reship = tracking(order, numbers=[NUMBER_2]).model_copy(update={"case_id": uuid.uuid4()})
    await w.processed(await w.publish(reship))
    fields = {"tracking_number": NUMBER_2, "case_id": reship.case_id}
    moving = changed(order, reship.supplier_order_id, "pending", "in_transit", 50, None)
    await w.processed(await w.publish(moving.model_copy(update=fields)))
    assert (await w.get(f"/v1/orders/{order['id']}"))["status"] == "shipped"
    arrived = changed(order, reship.supplier_order_id, "in_transit", "delivered", 90, None)
    await w.processed(await w.publish(arrived.model_copy(update=fields)))
    done = await w.get(f"/v1/orders/{order['id']}")
    assert done["status"] == "delivered"
    body = await w.get(f"/v1/orders/{order['id']}/fulfilments")
    assert {p["tracking_number"]: p["status"] for p in body["parcels"]} == {
        NUMBER: "in_transit",
        NUMBER_2: "delivered",
    }
