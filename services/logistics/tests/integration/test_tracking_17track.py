"""Parcels followed at 17TRACK (a strict fake of its v2.2 API on a real port): each
number registered once in batches of 40, pushes verified and applied once whatever
their order, polls as the safety net, and the provider's faults (down, 429, quota)
never losing a parcel. Real PostgreSQL + RabbitMQ."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common.db import utcnow
from dropship_testkit.fakes.seventeen_track import FakeSeventeenTrack
from dropship_testkit.server import serving
from dropship_testkit.tap import eventually
from logistics.main import SPEC
from logistics.models import TrackingAccount, TrackingPush
from logistics.tracking.worker import check_due

from .helpers import assigned, confirmed, parcels_of, processed, publish

pytestmark = pytest.mark.integration

QUIET = {"poll_interval_seconds": 3600.0, "rules_interval_seconds": 3600.0}


def s10(serial: int) -> str:
    from dropship_common.carriers import s10_check_digit

    digits = f"{serial:08d}"
    return f"RR{digits}{s10_check_digit(digits)}CN"


async def world(start_service, tap_factory, fake: FakeSeventeenTrack, url: str):  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, seventeen_track_base_url=url, **QUIET)
    tap = await tap_factory(svc.settings, ["shipment.#"])
    r = await svc.client.post(
        "/v1/tracking-accounts",
        headers=svc.admin_headers,
        json={"provider": "17track", "label": "main", "api_key": fake.api_key},
    )
    assert r.status_code == 201, r.text
    assert "api_key" not in r.json()
    return svc, tap, r.json()


async def test_each_number_is_registered_once_in_batches_of_forty(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    fake = FakeSeventeenTrack(quota=100, rate_per_second=50)
    async with serving(fake.app()) as url:
        svc, _, _ = await world(start_service, tap_factory, fake, url)
        order = confirmed("DE")
        await processed(svc, await publish(svc, order))
        numbers = [s10(i) for i in range(45)]
        event = assigned(order, numbers)
        await processed(svc, await publish(svc, event))
        await processed(svc, await publish(svc, event))  # reported twice
        await check_due(svc.runtime)
        await check_due(svc.runtime)
        assert all(fake.registrations(n) == 1 for n in numbers)
        assert fake.count("register") == 2 and fake.quota_used == 45
        rows = await parcels_of(svc, order.order_id)
        assert len(rows) == 45 and all(p.registered_at is not None for p in rows)
        # the first poll, half an hour later: 40 + 5 numbers
        await check_due(svc.runtime, utcnow() + dt.timedelta(minutes=31))
        assert fake.count("gettrackinfo") == 2


async def test_pushes_in_order_duplicated_and_shuffled_change_each_status_once(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    fake = FakeSeventeenTrack(rate_per_second=50)
    async with serving(fake.app()) as url:
        svc, tap, account = await world(start_service, tap_factory, fake, url)
        order = confirmed("DE")
        await processed(svc, await publish(svc, order))
        number = s10(7)
        await processed(svc, await publish(svc, assigned(order, [number])))
        await check_due(svc.runtime)
        now = utcnow()
        road = [
            ("InfoReceived", None, "Electronic information received", 90),
            ("InTransit", "InTransit_PickedUp", "Picked up", 80),
            ("InTransit", "InTransit_CustomsProcessing", "Customs clearance", 30),
            ("OutForDelivery", None, "Out for delivery", 3),
            ("Delivered", None, "Delivered", 1),
        ]
        bodies: list[tuple[bytes, dict[str, str]]] = []
        for status, sub, text, hours_ago in road:
            fake.scan(number, status, sub, text, at=now - dt.timedelta(hours=hours_ago))
            bodies.append(fake.push_body(number))
        path = account["push_path"]
        pushes = bodies + bodies[:3]  # three duplicates
        random.Random(3).shuffle(pushes)
        for body, headers in pushes:
            r = await svc.client.post(path, content=body, headers=headers)
            assert r.status_code == 200, r.text

        async def delivered() -> Any:
            [p] = await parcels_of(svc, order.order_id)
            return p if p.status == "delivered" else None

        parcel = await eventually(delivered)
        r = await svc.client.get(f"/v1/parcels/{parcel.id}", headers=svc.admin_headers)
        events = r.json()["events"]
        assert len([e for e in events if e["kind"] == "scan"]) == 5  # each scan once
        changes = [e["status"] for e in events if e["kind"] == "status"]
        assert changes[-1] == "delivered" and len(changes) == len(set(changes))
        await tap.wait_for("shipment.status_changed", status="delivered")
        notices = [
            e.payload["buyer_notice"]
            for e in tap.of_type("shipment.status_changed")
            if e.payload["buyer_notice"]
        ]
        assert notices.count("delivered") == 1 and len(notices) == len(set(notices))


async def test_a_forged_push_is_refused_and_nothing_is_stored(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    fake = FakeSeventeenTrack()
    async with serving(fake.app()) as url:
        svc, _, account = await world(start_service, tap_factory, fake, url)
        order = confirmed("DE")
        await processed(svc, await publish(svc, order))
        number = s10(8)
        await processed(svc, await publish(svc, assigned(order, [number])))
        await check_due(svc.runtime)
        fake.scan(number, "Delivered", None, "Delivered")
        body, headers = fake.push_body(number)
        forged = body.replace(b"Delivered", b"Delivere_")
        r = await svc.client.post(account["push_path"], content=forged, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature"
        r = await svc.client.post(
            account["push_path"], content=body, headers={**headers, "sign": "0" * 64}
        )
        assert r.status_code == 401
        r = await svc.client.post(
            "/webhooks/aftership/" + account["id"], content=body, headers=headers
        )
        assert r.status_code == 404  # not an AfterShip account
        async with svc.runtime.db.sessions() as s:
            assert await s.scalar(sa.select(sa.func.count()).select_from(TrackingPush)) == 0


async def test_provider_down_rate_limited_or_out_of_quota_loses_no_parcel(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    fake = FakeSeventeenTrack(quota=0, rate_per_second=50)
    async with serving(fake.app()) as url:
        svc, _, account = await world(start_service, tap_factory, fake, url)
        order = confirmed("DE")
        await processed(svc, await publish(svc, order))
        numbers = [s10(i) for i in range(100, 103)]
        await processed(svc, await publish(svc, assigned(order, numbers)))

        # quota used up: an alert on the account, the parcels wait an hour
        now = utcnow()
        await check_due(svc.runtime, now)
        async with svc.runtime.db.sessions() as s:
            row = await s.get(TrackingAccount, account["id"])
            assert row is not None and row.problem == "quota_exhausted"
        rows = await parcels_of(svc, order.order_id)
        assert all(p.registered_at is None for p in rows)
        assert all(
            p.next_check_at and p.next_check_at > now + dt.timedelta(minutes=50) for p in rows
        )

        # down: backed off, still waiting
        fake.quota, fake.down = 10, True
        later = now + dt.timedelta(hours=2)
        await check_due(svc.runtime, later)
        rows = await parcels_of(svc, order.order_id)
        assert all(p.registered_at is None and p.check_failures >= 2 for p in rows)
        assert all(p.next_check_at and p.next_check_at > later for p in rows)

        # back, answering 429 twice first ("request frequency exceeds the limit"): the
        # client waits and tries again within the round; registered, the alert cleared
        fake.down = False
        fake.fail_next(2, status=429)
        calls = fake.count("register")
        await check_due(svc.runtime, later + dt.timedelta(hours=7))
        assert fake.count("register") == calls + 3  # two 429s, then the call that took
        rows = await parcels_of(svc, order.order_id)
        assert all(p.registered_at is not None for p in rows)
        async with svc.runtime.db.sessions() as s:
            row = await s.get(TrackingAccount, account["id"])
            assert row is not None and row.problem is None
        assert all(fake.registrations(n) == 1 for n in numbers)


async def test_a_buyers_return_is_followed_once_and_its_events_say_so(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    from dropship_common.contracts.aftersales import AftersalesReturnShipped

    fake = FakeSeventeenTrack(rate_per_second=50)
    async with serving(fake.app()) as url:
        svc, tap, account = await world(start_service, tap_factory, fake, url)
        order = confirmed("DE")
        await processed(svc, await publish(svc, order))
        case_id, number = uuid.uuid4(), s10(31)[:-2] + "GB"  # posted in Britain
        back = AftersalesReturnShipped(
            case_id=case_id, order_id=order.order_id, shop_id=order.shop_id,
            tracking_number=number, carrier="Royal Mail", destination_country="DE",
        )  # fmt: skip
        await processed(svc, await publish(svc, back))
        await processed(svc, await publish(svc, back))  # reported twice: one parcel
        # a reship's replacement of the same order: the case travels on its events
        reship_case, replacement = uuid.uuid4(), s10(32)
        reship = assigned(order, [replacement]).model_copy(update={"case_id": reship_case})
        await processed(svc, await publish(svc, reship))
        await check_due(svc.runtime)
        assert fake.registrations(number) == 1 and fake.registrations(replacement) == 1
        rows = {p.tracking_number: p for p in await parcels_of(svc, order.order_id)}
        assert (rows[number].return_parcel, rows[number].case_id) == (True, case_id)
        assert (rows[replacement].return_parcel, rows[replacement].case_id) == (False, reship_case)

        fake.scan(number, "Delivered", None, "Delivered to the shop", at=utcnow())
        body, headers = fake.push_body(number)
        r = await svc.client.post(account["push_path"], content=body, headers=headers)
        assert r.status_code == 200, r.text
        [done] = await tap.wait_for("shipment.status_changed", status="delivered")
        assert done.payload["return_parcel"] is True
        assert done.payload["case_id"] == str(case_id)
        assert done.payload["buyer_notice"] is None  # the buyer sent it: no news for them
        assert fake.registrations(number) == 1  # followed, never registered again

        # the replacement's own events carry its case (and are the buyer's news)
        fake.scan(replacement, "OutForDelivery", None, "Out for delivery", at=utcnow())
        body, headers = fake.push_body(replacement)
        r = await svc.client.post(account["push_path"], content=body, headers=headers)
        assert r.status_code == 200, r.text
        [out] = await tap.wait_for("shipment.status_changed", tracking_number=replacement)
        assert (out.payload["case_id"], out.payload["return_parcel"]) == (str(reship_case), False)
        assert out.payload["buyer_notice"] == "out_for_delivery"


async def test_a_return_under_the_outbound_number_is_not_delivered_by_the_outbound_journey(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    """The carrier's return label reuses the number the goods came with: the number's
    history (delivered to the buyer) is not the return's arrival; the return is
    delivered when the shop's delivery is scanned."""
    from dropship_common.contracts.aftersales import AftersalesReturnShipped

    fake = FakeSeventeenTrack(rate_per_second=50)
    async with serving(fake.app()) as url:
        svc, tap, account = await world(start_service, tap_factory, fake, url)
        order = confirmed("DE")
        await processed(svc, await publish(svc, order))
        number = s10(41)
        await processed(svc, await publish(svc, assigned(order, [number])))
        await check_due(svc.runtime)
        now = utcnow()
        fake.scan(number, "InTransit", None, "Picked up", at=now - dt.timedelta(days=9))
        fake.scan(number, "Delivered", None, "Delivered", at=now - dt.timedelta(days=3))
        body, headers = fake.push_body(number)
        assert (
            await svc.client.post(account["push_path"], content=body, headers=headers)
        ).is_success
        await tap.wait_for("shipment.status_changed", status="delivered")

        back = AftersalesReturnShipped(
            case_id=uuid.uuid4(), order_id=order.order_id, shop_id=order.shop_id,
            tracking_number=number, carrier="", destination_country="DE",
        )  # fmt: skip
        await processed(svc, await publish(svc, back))
        await check_due(svc.runtime)  # registered: "already registered" is success
        [ret] = [p for p in await parcels_of(svc, order.order_id) if p.return_parcel]
        assert ret.registered_at is not None and fake.registrations(number) == 1
        # the old history pushed again, then with the buyer's posting (scans by the minute)
        for scan in (None, ("InTransit", "Posted by the buyer", 1)):
            if scan is not None:
                status, text, minutes = scan
                fake.scan(number, status, None, text, at=now + dt.timedelta(minutes=minutes))
            body, headers = fake.push_body(number)
            r = await svc.client.post(account["push_path"], content=body, headers=headers)
            assert r.status_code == 200, r.text
        [posted] = await tap.wait_for("shipment.status_changed", parcel_id=str(ret.id))
        assert posted.payload["status"] == "in_transit" and posted.payload["return_parcel"]

        async def all_applied() -> bool:
            async with svc.runtime.db.sessions() as s:
                left = await s.scalar(
                    sa.select(sa.func.count())
                    .select_from(TrackingPush)
                    .where(TrackingPush.processed_at.is_(None))
                )
            return left == 0

        await eventually(all_applied)  # the old history's push too: it changed nothing
        assert len(tap.of_type("shipment.status_changed", parcel_id=str(ret.id))) == 1

        at_shop = now + dt.timedelta(minutes=2)
        fake.scan(number, "Delivered", None, "Delivered to the shop", at=at_shop)
        body, headers = fake.push_body(number)
        assert (
            await svc.client.post(account["push_path"], content=body, headers=headers)
        ).is_success
        [_, arrived] = await tap.wait_for("shipment.status_changed", count=2, parcel_id=str(ret.id))
        assert arrived.payload["status"] == "delivered"
        assert arrived.payload["case_id"] == str(back.case_id)
