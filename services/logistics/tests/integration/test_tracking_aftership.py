"""Parcels followed at AfterShip (a strict fake of its 2026-07 Tracking API on a real
port): a shop's own account wins over the deployment's, each number created once ("Tracking
already exists" counts as done), pushes verified by ``aftership-hmac-sha256`` and applied,
a carrier AfterShip corrects corrected here, an operator's correction sent to AfterShip."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dropship_common.db import utcnow
from dropship_testkit.fakes.aftership import FakeAfterShip
from dropship_testkit.server import serving
from dropship_testkit.tap import eventually
from logistics.main import SPEC
from logistics.tracking.worker import check_due

from .helpers import assigned, confirmed, parcels_of, processed, publish

pytestmark = pytest.mark.integration

QUIET = {"poll_interval_seconds": 3600.0, "rules_interval_seconds": 3600.0}


async def test_a_shops_aftership_account_follows_its_parcels(start_service, tap_factory) -> None:  # type: ignore[no-untyped-def]
    fake = FakeAfterShip()
    async with serving(fake.app()) as url:
        svc = await start_service(SPEC, aftership_base_url=url, **QUIET)
        tap = await tap_factory(svc.settings, ["shipment.#"])
        h = svc.admin_headers
        order = confirmed("DE")
        # the deployment's account (17TRACK) and the shop's own (AfterShip): the shop's wins
        r = await svc.client.post(
            "/v1/tracking-accounts",
            headers=h,
            json={"provider": "17track", "label": "everyone", "api_key": "unused"},
        )
        assert r.status_code == 201
        r = await svc.client.post(
            "/v1/tracking-accounts",
            headers=h,
            json={
                "provider": "aftership",
                "label": "the shop's",
                "shop_id": str(order.shop_id),
                "api_key": fake.api_key,
                "webhook_secret": fake.webhook_secret,
            },
        )
        assert r.status_code == 201, r.text
        account = r.json()
        assert "webhook_secret" not in account and "api_key" not in account
        await processed(svc, await publish(svc, order))
        number = "LX123456785CN"
        await processed(svc, await publish(svc, assigned(order, [number], carrier="Yanwen")))
        await check_due(svc.runtime)
        await check_due(svc.runtime)
        assert fake.registrations(number) == 1
        [parcel] = await parcels_of(svc, order.order_id)
        assert str(parcel.account_id) == account["id"] and parcel.registered_at is not None

        # AfterShip says it is China Post, in transit: corrected and moved here
        tracking = fake.find(number)
        tracking.slug = "china-post"
        fake.scan(
            number,
            "InTransit",
            "InTransit_002",
            "Departed facility",
            at=utcnow() - dt.timedelta(hours=5),
            location="Shenzhen",
        )
        body, headers = fake.push_body(number)
        r = await svc.client.post(account["push_path"], content=body, headers=headers)
        assert r.status_code == 200, r.text
        forged = {**headers, "aftership-hmac-sha256": "AAAA" + headers["aftership-hmac-sha256"][4:]}
        r = await svc.client.post(account["push_path"], content=body, headers=forged)
        assert r.status_code == 401

        async def moved() -> Any:
            [p] = await parcels_of(svc, order.order_id)
            return p if p.status == "in_transit" else None

        parcel = await eventually(moved)
        assert (parcel.carrier, parcel.carrier_source) == ("chinapost", "provider")
        await tap.wait_for("shipment.status_changed", status="in_transit")

        # an operator corrects it back: sent to AfterShip first
        r = await svc.client.post(
            f"/v1/parcels/{parcel.id}/carrier",
            headers=h,
            json={"carrier": "yanwen", "reason": "the supplier's label says Yanwen"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["carrier"] == "yanwen" and r.json()["carrier_source"] == "operator"
        assert fake.find(number).slug == "yanwen"
