"""Parcels from ``shipment.tracking_assigned`` on real PostgreSQL + RabbitMQ; the rules
with a controlled clock (7 / 30 / 40 days, a silent route, the window extended before
it closes); the operators' API; the buyer's tracking page; redaction."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from dropship_common.contracts.order_intake import OrderRedacted
from dropship_testkit.tap import EventTap
from logistics.domain.status import ParcelStatus as S
from logistics.main import SPEC
from logistics.models import Destination
from logistics.parcels.rules_worker import review_due
from logistics.parcels.service import apply_snapshot
from logistics.providers.base import Checkpoint, Snapshot
from logistics.tracking.repository import ScheduleRepository

from .helpers import SHIPPED, assigned, confirmed, parcels_of, processed, publish

pytestmark = pytest.mark.integration


def days(n: float) -> dt.datetime:
    return SHIPPED + dt.timedelta(days=n)


async def started(start_service, tap_factory):  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap: EventTap = await tap_factory(svc.settings, ["shipment.#"])
    return svc, tap


async def test_one_parcel_per_number_carrier_detected_and_a_repeat_opens_nothing(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc, _ = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    event = assigned(order, ["RR123456785CN", "1Z5R89390357567127"], carrier="")
    await processed(svc, await publish(svc, event))
    await processed(svc, await publish(svc, event))  # the same report again
    rows = await parcels_of(svc, order.order_id)
    assert [(p.tracking_number, p.carrier, p.carrier_source, p.carrier_class) for p in rows] == [
        ("1Z5R89390357567127", "ups", "number", "express"),
        ("RR123456785CN", "chinapost", "number", "postal"),
    ]
    ups, post = rows
    assert ups.window_to == dt.date(2026, 9, 13)  # express: 4-12 days
    assert post.window_to == dt.date(2026, 10, 11)  # postal: 12-40 days
    assert post.shop_id == order.shop_id and not post.silent_route
    assert len(post.token) == 43 and post.token != ups.token

    r = await svc.client.get(f"/v1/parcels?order_id={order.order_id}", headers=svc.admin_headers)
    assert r.status_code == 200
    assert {p["tracking_number"] for p in r.json()["parcels"]} == {
        "RR123456785CN",
        "1Z5R89390357567127",
    }


async def test_the_rules_follow_up_stall_and_declare_lost_on_time(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc, tap = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    [parcel] = await parcels_of(svc, order.order_id)
    assert await review_due(svc.runtime, days(1)) == {"reviewed": 1}
    # a scan on day 25, then silence
    scan = Checkpoint(days(25), S.IN_TRANSIT, "InTransit/Departure", "Departed", "Frankfurt")
    async with svc.runtime.db.transaction() as session:
        [row] = await ScheduleRepository(session).locked([parcel.id])
        await apply_snapshot(
            session, svc.runtime.outbox, row,
            Snapshot("RR123456785CN", "chinapost", S.IN_TRANSIT, "InTransit", [scan]),
            source="poll", cause="test", now=days(25),
        )  # fmt: skip

    assert tap.of_type("shipment.follow_up") == []
    done = await review_due(svc.runtime, days(30))  # postal: 30 days after shipping
    assert done.get("follow_up") == 1 and "stalled" not in done
    [follow_up] = await tap.wait_for("shipment.follow_up", parcel_id=str(parcel.id))
    assert follow_up.payload["window_to"] == "2026-10-11"
    assert follow_up.payload["last_scan"] == "Departed"
    # the window (day 40) is extended 3 days before it closes, by 15 days
    done = await review_due(svc.runtime, days(37))
    assert done.get("extend_window") == 1
    [extended] = await tap.wait_for("shipment.delivery_window_extended")
    assert extended.payload["window_to"] == "2026-10-26"
    assert extended.payload["reason"] == "closing"
    done = await review_due(svc.runtime, days(55))  # no scan for 30 days
    assert done.get("stalled") == 1
    [stalled] = await tap.wait_for("shipment.stalled", parcel_id=str(parcel.id))
    assert stalled.payload["silent_days"] == 30 and not stalled.payload["silent_route"]
    done = await review_due(svc.runtime, days(65))  # no tracking information for 40 days
    assert done.get("presumed_lost") == 1
    [lost] = await tap.wait_for("shipment.presumed_lost")
    assert lost.payload["silent_days"] == 40
    # nothing twice
    assert "presumed_lost" not in await review_due(svc.runtime, days(66))
    assert len(tap.of_type("shipment.follow_up")) == 1
    assert len(tap.of_type("shipment.stalled")) == 1
    r = await svc.client.get(f"/v1/parcels/{parcel.id}", headers=svc.admin_headers)
    kinds = [e["description"] for e in r.json()["events"] if e["kind"] == "rule"]
    assert kinds[0] == "follow-up due" and kinds[-1].startswith("presumed lost")


async def test_a_follow_up_due_with_a_stall_is_one_message(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    """No scan at all by day 30: the buyer hears once (the stall's reassuring message)."""
    svc, tap = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    done = await review_due(svc.runtime, days(30))
    assert done.get("follow_up") == 1 and done.get("stalled") == 1
    await tap.wait_for("shipment.stalled")
    await review_due(svc.runtime, days(31))
    assert tap.of_type("shipment.follow_up") == []
    assert len(tap.of_type("shipment.stalled")) == 1


async def test_a_route_that_loses_tracking_is_not_declared_lost_for_silence(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc, tap = await started(start_service, tap_factory)
    order = confirmed("IT")  # postal air to Italy: a silent route (editable table)
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    [parcel] = await parcels_of(svc, order.order_id)
    assert parcel.silent_route
    await review_due(svc.runtime, days(30))
    done = await review_due(svc.runtime, days(41))
    assert "presumed_lost" not in done and done.get("silent_route") == 1
    await tap.wait_for("shipment.stalled", silent_route=True)
    for day in (60, 90, 110):
        assert "presumed_lost" not in await review_due(svc.runtime, days(day))
    [parcel] = await parcels_of(svc, order.order_id)
    assert parcel.window_to == dt.date(2026, 12, 30)  # 120 days after shipping, no further
    assert (await review_due(svc.runtime, days(120))).get("presumed_lost") == 1
    assert len(tap.of_type("shipment.stalled", silent_route=True)) == 1  # told once

    r = await svc.client.delete("/v1/routing/silent-routes/postal/IT", headers=svc.admin_headers)
    assert r.status_code == 204
    r = await svc.client.get("/v1/routing/silent-routes", headers=svc.admin_headers)
    assert "IT" not in {row["country"] for row in r.json()}


async def test_operators_mark_lost_with_a_reason_and_the_page_shows_no_buyer_data(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc, tap = await started(start_service, tap_factory)
    order = confirmed("DE", language="zh")
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    [parcel] = await parcels_of(svc, order.order_id)
    h = svc.admin_headers

    r = await svc.client.post(
        f"/v1/parcels/{parcel.id}/mark", headers=h, json={"status": "lost", "reason": "carrier"}
    )
    assert r.status_code == 200 and r.json()["status"] == "lost"
    ops = [e for e in r.json()["events"] if e["kind"] == "operator"]
    assert ops[0]["description"] == "pending -> lost: carrier" and ops[0]["cause"] == "admin-token"
    [changed] = await tap.wait_for("shipment.status_changed", parcel_id=str(parcel.id))
    assert changed.payload["status"] == "lost"
    r = await svc.client.post(
        f"/v1/parcels/{parcel.id}/mark", headers=h, json={"status": "delivered", "reason": "x"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = await svc.client.post(
        f"/v1/parcels/{parcel.id}/carrier", headers=h, json={"carrier": "nope", "reason": "x"}
    )
    assert r.status_code == 422

    page = await svc.client.get(f"/track/{parcel.token}")
    assert page.status_code == 200
    html = page.text
    assert "RR123456785CN" in html
    assert "您的包裹" in html  # the buyer's language from the order
    for private in ("Lena", "Unter den Linden", "10117", "Berlin", "lena@example.com"):
        assert private not in html
    assert (await svc.client.get("/track/" + "x" * 43)).status_code == 404
    assert (await svc.client.get(f"/track/{parcel.token}?lang=en")).text.count("Your parcel") >= 1


async def test_a_redaction_removes_the_destination(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    svc, _ = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    redacted = OrderRedacted(
        order_id=order.order_id, shop_id=order.shop_id, redacted_at=dt.datetime.now(dt.UTC)
    )
    await processed(svc, await publish(svc, redacted))
    async with svc.runtime.db.sessions() as s:
        row = await s.get(Destination, order.order_id)
    assert row is not None
    assert (row.country, row.postal_code, row.city) == (None, None, None)
    assert row.redacted_at is not None
    assert uuid.UUID(str(row.shop_id)) == order.shop_id


async def test_tracking_parked_by_the_bare_release_is_processed_on_start(
    start_service, databases
) -> None:  # type: ignore[no-untyped-def]
    """The shell logistics kept ``shipment.tracking_assigned`` in ``parked_events``;
    this release opens their parcels when it starts, once."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from logistics.models import parked_events

    url = await databases.new("logistics")
    order = confirmed("DE")
    event = assigned(order, ["RR123456785CN"])
    envelope = event.envelope(correlation_id=str(order.order_id))
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(parked_events).values(
                message_id=envelope.id,
                type=envelope.type,
                envelope=envelope.model_dump(mode="json"),
                received_at=dt.datetime.now(dt.UTC),
            )
        )
    await engine.dispose()
    svc = await start_service(SPEC, database_url=url)
    [parcel] = await parcels_of(svc, order.order_id)
    assert parcel.tracking_number == "RR123456785CN"
    async with svc.runtime.db.sessions() as s:
        left = await s.scalar(sa.select(sa.func.count()).select_from(parked_events))
    assert left == 0
    await processed(svc, await publish(svc, event))  # delivered live too: applied once
    assert len(await parcels_of(svc, order.order_id)) == 1


async def test_an_operator_of_another_shop_sees_no_parcel_of_this_one(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc, _ = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    [parcel] = await parcels_of(svc, order.order_id)
    keys = {}
    for name, shop in (("mine", order.shop_id), ("other", uuid.uuid4())):
        r = await svc.client.post(
            "/v1/admin/api-keys",
            headers=svc.admin_headers,
            json={"role": "operator", "label": name, "shops": [str(shop)]},
        )
        assert r.status_code == 201, r.text
        keys[name] = {"authorization": f"Bearer {r.json()['key']}"}
    r = await svc.client.get(f"/v1/parcels/{parcel.id}", headers=keys["other"])
    assert r.status_code == 404
    r = await svc.client.get("/v1/parcels", headers=keys["other"])
    assert r.json()["parcels"] == []
    r = await svc.client.post(f"/v1/parcels/{parcel.id}/recheck", headers=keys["other"])
    assert r.status_code == 404
    r = await svc.client.get(f"/v1/parcels/{parcel.id}", headers=keys["mine"])
    assert r.status_code == 200
    r = await svc.client.get("/v1/parcels", headers=keys["mine"])
    assert [p["id"] for p in r.json()["parcels"]] == [str(parcel.id)]


async def test_at_customs_the_notices_duty_assessment_goes_with_the_change(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc, tap = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    event = assigned(order, ["RR123456785CN"]).model_copy(
        update={"duty_likely": True, "customs_rule": "EU IOSS: VAT from the first euro"}
    )
    await processed(svc, await publish(svc, event))
    [parcel] = await parcels_of(svc, order.order_id)
    now = dt.datetime.now(dt.UTC)
    for status, provider_status, hours in (
        (S.IN_TRANSIT, "InTransit/PickedUp", 50),
        (S.IN_CUSTOMS, "InTransit/CustomsProcessing", 2),
    ):
        scan = Checkpoint(now - dt.timedelta(hours=hours), status, provider_status, "scan")
        async with svc.runtime.db.transaction() as session:
            [row] = await ScheduleRepository(session).locked([parcel.id])
            await apply_snapshot(
                session, svc.runtime.outbox, row,
                Snapshot("RR123456785CN", "chinapost", status, provider_status, [scan]),
                source="poll", cause="test", now=now,
            )  # fmt: skip
    [customs] = await tap.wait_for("shipment.status_changed", status="in_customs")
    assert customs.payload["buyer_notice"] == "customs"
    assert customs.payload["duty_likely"] is True
    assert customs.payload["customs_rule"].startswith("EU IOSS")
    [moving] = tap.of_type("shipment.status_changed", status="in_transit")
    assert moving.payload["duty_likely"] is None  # only told at customs


def returned(order, number: str, country: str | None = None):  # type: ignore[no-untyped-def]
    from dropship_common.contracts.aftersales import AftersalesReturnShipped

    return AftersalesReturnShipped(
        case_id=uuid.uuid4(), order_id=order.order_id, shop_id=order.shop_id,
        tracking_number=number, carrier="", destination_country=country,
    )  # fmt: skip


async def test_a_buyers_return_is_its_own_parcel_watched_for_the_operators_only(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """The buyer posts the goods back under the number of the order's own parcel (the
    carrier's return label): a second parcel, not a collision. No follow-up or window
    extension for it (news for the buyer); stalled and presumed lost for the
    operators, marked as the return; delivered with no buyer notice."""
    from dropship_common.db import utcnow

    svc, tap = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    await processed(svc, await publish(svc, assigned(order, ["RR123456785CN"])))
    back = returned(order, "RR123456785CN")  # no destination country: the default window
    await processed(svc, await publish(svc, back))
    await processed(svc, await publish(svc, back))
    own, ret = sorted(await parcels_of(svc, order.order_id), key=lambda p: p.return_parcel)
    assert (own.return_parcel, own.case_id) == (False, None)
    assert (ret.return_parcel, ret.case_id, ret.carrier) == (True, back.case_id, "chinapost")
    assert ret.supplier_order_id == back.case_id and ret.token != own.token
    assert ret.window_to == ret.shipped_at.date() + dt.timedelta(days=40)  # postal default

    now = utcnow()
    await review_due(svc.runtime, now + dt.timedelta(days=37))  # follow-up, window closing
    [stalled] = await tap.wait_for("shipment.stalled", parcel_id=str(ret.id))
    assert stalled.payload["return_parcel"] is True
    assert stalled.payload["case_id"] == str(back.case_id)
    await review_due(svc.runtime, now + dt.timedelta(days=41))
    [lost] = await tap.wait_for("shipment.presumed_lost", parcel_id=str(ret.id))
    assert lost.payload["return_parcel"] is True
    for kind in ("shipment.follow_up", "shipment.delivery_window_extended"):
        assert tap.of_type(kind, parcel_id=str(ret.id)) == []
    # the order's own parcel, as silent: its window extended for the buyer
    await tap.wait_for("shipment.delivery_window_extended", parcel_id=str(own.id))

    r = await svc.client.post(
        f"/v1/parcels/{ret.id}/mark", headers=svc.admin_headers,
        json={"status": "delivered", "reason": "the shop has it"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["return_parcel"], r.json()["case_id"]) == (True, str(back.case_id))
    [done] = await tap.wait_for("shipment.status_changed", parcel_id=str(ret.id))
    assert done.payload["status"] == "delivered" and done.payload["buyer_notice"] is None
    assert done.payload["return_parcel"] is True
    assert done.payload["case_id"] == str(back.case_id)


async def test_a_return_parked_by_the_previous_release_is_followed_on_start(
    start_service, databases
) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from logistics.models import parked_events

    url = await databases.new("logistics")
    order = confirmed("DE")
    back = returned(order, "RR123456785CN", "DE")
    envelope = back.envelope(correlation_id=str(order.order_id))
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(parked_events).values(
                message_id=envelope.id,
                type=envelope.type,
                envelope=envelope.model_dump(mode="json"),
                received_at=dt.datetime.now(dt.UTC),
            )
        )
    await engine.dispose()
    svc = await start_service(SPEC, database_url=url)
    [parcel] = await parcels_of(svc, order.order_id)
    assert (parcel.return_parcel, parcel.case_id) == (True, back.case_id)
    await processed(svc, await publish(svc, back))  # delivered live too: opened once
    assert len(await parcels_of(svc, order.order_id)) == 1


async def test_a_corrected_return_number_replaces_the_cases_return_parcel(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """One return parcel per case: the agent's corrected number replaces the mistyped
    one (which might be someone else's parcel: its delivery must not release the
    refund); an older report arriving late, or one after the return arrived, changes
    nothing."""
    from dropship_common.db import utcnow

    svc, _ = await started(start_service, tap_factory)
    order = confirmed("DE")
    await processed(svc, await publish(svc, order))
    typo = returned(order, "RR123456758CN")
    first = typo.envelope(correlation_id=str(order.order_id)).model_copy(
        update={"occurred_at": utcnow() - dt.timedelta(hours=2)}
    )
    await svc.runtime.bus.publish([first])
    await processed(svc, first)
    [mistyped] = await parcels_of(svc, order.order_id)
    fixed = typo.model_copy(update={"tracking_number": "RR123456785CN"})
    await processed(svc, await publish(svc, fixed))
    [parcel] = await parcels_of(svc, order.order_id)
    assert (parcel.tracking_number, parcel.case_id) == ("RR123456785CN", typo.case_id)
    r = await svc.client.get(f"/v1/parcels/{mistyped.id}", headers=svc.admin_headers)
    assert r.status_code == 404  # gone, with its timeline

    late = first.model_copy(update={"id": uuid.uuid4()})  # the first report, redelivered
    await svc.runtime.bus.publish([late])
    await processed(svc, late)
    assert [p.tracking_number for p in await parcels_of(svc, order.order_id)] == ["RR123456785CN"]

    r = await svc.client.post(
        f"/v1/parcels/{parcel.id}/mark", headers=svc.admin_headers,
        json={"status": "delivered", "reason": "the shop has it"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    after = fixed.model_copy(update={"tracking_number": "1Z5R89390357567127"})
    await processed(svc, await publish(svc, after))
    [still] = await parcels_of(svc, order.order_id)
    assert (still.id, still.status) == (parcel.id, "delivered")
