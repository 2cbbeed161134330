"""The AfterShip provider against the strict fake of AfterShip's 2026-07 API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from dropship_common.egress import EgressRules
from dropship_common.http import OutboundPolicy, make_client
from dropship_testkit.fakes.aftership import FakeAfterShip
from dropship_testkit.server import serving
from logistics.domain.status import ParcelStatus
from logistics.providers.aftership import API_VERSION, AfterShip
from logistics.providers.base import (
    Account,
    AuthRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Registration,
)

NO_LIMITS = {k: 10_000 for k in FakeAfterShip().rate_limits}


def client(url: str) -> httpx.AsyncClient:
    policy = OutboundPolicy(
        allowed_hosts={"127.0.0.1"}, egress=EgressRules.parse("127.0.0.1"), max_attempts=1
    )
    return make_client(policy, base_url=url)


def fast(**kw: Any) -> FakeAfterShip:
    return FakeAfterShip(**{"rate_limits": dict(NO_LIMITS), **kw})


def account(fake: FakeAfterShip, **kw: Any) -> Account:
    return Account(
        "acct-2", "aftership", kw.get("api_key", fake.api_key), kw.get("secret", "whsec-test")
    )


@asynccontextmanager
async def provider(fake: FakeAfterShip, **kw: Any) -> AsyncIterator[AfterShip]:
    async with serving(fake.app()) as url, client(url) as http:
        yield AfterShip(account(fake, **kw), http, url)


def test_the_version_is_the_newest_documented() -> None:
    assert API_VERSION == "2026-07"
    assert AfterShip.max_batch == 50
    assert AfterShip.requests_per_second == 5


async def test_register_creates_one_tracking_per_number() -> None:
    fake = fast()
    numbers = [f"RR{i:09d}CN" for i in range(3)]
    async with provider(fake) as p:
        outcome = await p.register([Registration(n, "chinapost", "US", "10001") for n in numbers])
    assert outcome.accepted == numbers and outcome.already == [] and outcome.rejected == {}
    assert fake.count("POST /trackings") == 3
    tracking = fake.find("RR000000000CN")
    assert tracking.slug == "china-post" and tracking.destination_postal_code == "10001"


async def test_registering_twice_is_already_and_creates_once() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register([Registration("YT1234567890", "yunexpress")])
        again = await p.register([Registration("YT1234567890", "yunexpress")])
    assert again.already == ["YT1234567890"] and again.accepted == []
    assert fake.registrations("YT1234567890") == 1
    assert len(fake.trackings) == 1


async def test_an_undetectable_number_is_rejected_with_the_reason() -> None:
    fake = fast(default_slug=None)
    async with provider(fake) as p:
        outcome = await p.register([Registration("???", None)])
        assert await p.quota_left() is None
    assert outcome.rejected == {"???": "meta.code 4012"}


async def test_over_the_endpoint_rate_is_rate_limited() -> None:
    fake = fast(rate_limits={**NO_LIMITS, "GET /trackings": 1})
    async with provider(fake) as p:
        await p.fetch([("A1234567", None)])
        with pytest.raises(RateLimited) as caught:
            await p.fetch([("A1234567", None)])
    assert caught.value.retry_after is not None and 0 <= caught.value.retry_after <= 2


async def test_a_5xx_or_a_down_provider_is_unavailable() -> None:
    fake = fast()
    async with provider(fake) as p:
        fake.fail_next(1, status=500)
        with pytest.raises(ProviderUnavailable):
            await p.register([Registration("RR1CN12345", "chinapost")])
        fake.fail_next(1, status=502)
        with pytest.raises(ProviderUnavailable):
            await p.fetch([("RR1CN12345", None)])
        fake.down = True
        with pytest.raises(ProviderUnavailable):
            await p.stop([("RR1CN12345", None)])
    assert fake.trackings == {}


async def test_a_wrong_key_is_auth_rejected() -> None:
    fake = fast()
    async with provider(fake, api_key="wrong") as p:
        with pytest.raises(AuthRejected):
            await p.register([Registration("RR2CN12345", "chinapost")])


async def test_fetch_maps_snapshots_and_reports_unknown_numbers() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register([Registration("LP00123456789", "cainiao")])
        fake.scan(
            "LP00123456789",
            "InTransit",
            "InTransit_007",
            "Departed from facility",
            at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            location="Shenzhen",
        )
        fake.scan(
            "LP00123456789",
            "Exception",
            "Exception_010",
            "Returning to sender",
            at=dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC),
        )
        fake.find("LP00123456789").expected_delivery = "2026-12-03"
        outcome = await p.fetch([("LP00123456789", "cainiao"), ("NOPE1234", None)])
    assert outcome.unknown == ["NOPE1234"]
    [snap] = outcome.snapshots
    assert snap.number == "LP00123456789" and snap.carrier == "cainiao"
    assert snap.status == ParcelStatus.RETURNING
    assert snap.provider_status == "Exception/Exception_010"
    assert snap.estimated_delivery == dt.date(2026, 12, 3)
    assert not snap.stopped
    first, last = snap.checkpoints
    assert first.occurred_at == dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    assert first.status == ParcelStatus.IN_TRANSIT and first.location == "Shenzhen"
    assert last.status == ParcelStatus.RETURNING and last.description == "Returning to sender"


async def test_fetch_of_60_numbers_takes_two_list_calls() -> None:
    fake = fast()
    numbers = [f"UB{i:09d}CN" for i in range(60)]
    async with provider(fake) as p:
        await p.register([Registration(n, "chinapost") for n in numbers])
        outcome = await p.fetch([(n, "chinapost") for n in numbers])
    assert fake.count("GET /trackings") == 2
    assert [s.number for s in outcome.snapshots] == numbers and outcome.unknown == []


async def test_change_carrier_and_stop() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register([Registration("YT9876543210", "chinapost")])
        await p.change_carrier("YT9876543210", "chinapost", "yunexpress")
        assert fake.find("YT9876543210").slug == "yunexpress"
        [snap] = (await p.fetch([("YT9876543210", "yunexpress")])).snapshots
        assert snap.carrier == "yunexpress"
        with pytest.raises(ProviderError):
            await p.change_carrier("NEVER12345", None, "ups")
        await p.stop([("YT9876543210", "yunexpress"), ("NEVER12345", None)])
    assert fake.trackings == {}
    assert fake.count("DELETE /trackings/:id") == 1


async def test_the_fake_refuses_what_the_docs_refuse() -> None:
    fake = fast()
    async with serving(fake.app()) as url, httpx.AsyncClient(base_url=url) as http:
        h = {"as-api-key": fake.api_key}
        r = await http.get(
            "/tracking/2026-07/trackings",
            params={"tracking_numbers": ",".join(f"N{i}" for i in range(51))},
            headers=h,
        )
        assert r.status_code == 400 and r.json()["meta"]["code"] == 4008
        r = await http.get("/tracking/2026-07/trackings", params={"limit": "201"}, headers=h)
        assert r.json()["meta"]["code"] == 4008
        r = await http.post("/tracking/2026-07/trackings", json={"slug": "ups"}, headers=h)
        assert r.json()["meta"]["code"] == 4007
        r = await http.post("/tracking/2026-07/trackings", content=b"{", headers=h)
        assert r.json()["meta"]["code"] == 4001
        r = await http.post(
            "/tracking/2026-07/trackings",
            json={"tracking_number": "X12345", "slug": "nope"},
            headers=h,
        )
        assert r.json()["meta"]["code"] == 4010
        r = await http.get("/tracking/2026-07/trackings/abc", headers=h)
        assert r.status_code == 404 and r.json()["meta"]["code"] == 4004
        r = await http.get("/tracking/2026-07/trackings")
        assert r.status_code == 401 and r.json()["meta"]["code"] == 401
    assert fake.trackings == {}


# -- pushes ----------------------------------------------------------------------------


async def _delivered(fake: FakeAfterShip, number: str) -> None:
    async with provider(fake) as p:
        await p.register([Registration(number, "ups")])
    fake.scan(number, "Delivered", "Delivered_001", "Delivered")


async def test_verify_push_accepts_the_fakes_signature_only() -> None:
    fake = fast()
    await _delivered(fake, "1Z999AA10123456784")
    body, headers = fake.push_body("1Z999AA10123456784")
    good = account(fake)
    assert AfterShip.verify_push(good, headers, body)
    upper = {k.upper(): v for k, v in headers.items()}
    assert AfterShip.verify_push(good, upper, body)
    assert not AfterShip.verify_push(good, headers, body.replace(b"Delivered", b"Exception", 1))
    assert not AfterShip.verify_push(account(fake, secret="other"), headers, body)
    assert not AfterShip.verify_push(account(fake, secret=None), headers, body)
    assert not AfterShip.verify_push(good, {}, body)


async def test_parse_push_updated_duplicate_and_stopped() -> None:
    fake = fast()
    await _delivered(fake, "1Z999AA10123456785")
    body, _ = fake.push_body("1Z999AA10123456785")
    [snap] = AfterShip.parse_push(body)
    assert snap.number == "1Z999AA10123456785" and snap.carrier == "ups"
    assert snap.status == ParcelStatus.DELIVERED
    assert snap.stopped  # AfterShip stops tracking a delivered parcel ("active": false)
    again, _ = fake.push_body("1Z999AA10123456785")  # the same state, a new event id
    assert AfterShip.parse_push(again) == [snap]

    fake.scan("1Z999AA10123456785", "Expired", "Expired_001", "No update")
    [expired] = AfterShip.parse_push(fake.push_body("1Z999AA10123456785")[0])
    assert expired.status == ParcelStatus.EXPIRED and expired.stopped

    with pytest.raises(ValueError):
        AfterShip.parse_push(b"[]")
    with pytest.raises(ValueError):
        AfterShip.parse_push(json.dumps({"event": "tracking_update"}).encode())
    assert AfterShip.parse_push(json.dumps({"event": "other", "msg": {}}).encode()) == []
