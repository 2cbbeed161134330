"""The 17TRACK provider against the strict fake of 17TRACK's v2.2 API, on a real port."""

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
from dropship_testkit.fakes.seventeen_track import FakeSeventeenTrack
from dropship_testkit.server import serving
from logistics.domain.status import ParcelStatus
from logistics.providers.base import (
    Account,
    AuthRejected,
    ProviderError,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    Registration,
)
from logistics.providers.seventeen_track import SeventeenTrack

CN = dt.timezone(dt.timedelta(hours=8))


def client(url: str) -> httpx.AsyncClient:
    """What the service builds, allowed to reach the fake's local port; one attempt so
    each answer of the fake reaches the adapter as it is."""
    policy = OutboundPolicy(
        allowed_hosts={"127.0.0.1"}, egress=EgressRules.parse("127.0.0.1"), max_attempts=1
    )
    return make_client(policy, base_url=url)


@asynccontextmanager
async def provider(
    fake: FakeSeventeenTrack, api_key: str | None = None
) -> AsyncIterator[SeventeenTrack]:
    async with serving(fake.app()) as url, client(url) as http:
        account = Account("acct-1", "17track", api_key or fake.api_key)
        yield SeventeenTrack(account, http, url)


def fast(**kw: Any) -> FakeSeventeenTrack:
    return FakeSeventeenTrack(**{"rate_per_second": 1000, **kw})


def regs(numbers: list[str], carrier: str | None = "chinapost") -> list[Registration]:
    return [Registration(n, carrier) for n in numbers]


async def test_45_numbers_are_registered_in_two_calls_of_40_and_5() -> None:
    fake = fast()
    numbers = [f"RR{i:09d}CN" for i in range(45)]
    async with provider(fake) as p:
        outcome = await p.register(regs(numbers))
    assert fake.count("register") == 2
    assert outcome.accepted == numbers and outcome.already == [] and outcome.rejected == {}
    assert fake.quota_used == 45
    assert fake.parcels["RR000000000CN"].carrier == 3011


async def test_registering_twice_is_already_and_costs_once() -> None:
    fake = fast(quota=10)
    async with provider(fake) as p:
        first = await p.register(regs(["RR1CN12345"]))
        second = await p.register(regs(["RR1CN12345"]))
        left = await p.quota_left()
    assert first.accepted == ["RR1CN12345"] and second.already == ["RR1CN12345"]
    assert second.accepted == []
    assert fake.registrations("RR1CN12345") == 1
    assert left == 9


async def test_without_carrier_the_number_is_left_to_detection() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register(regs(["UNKNOWN123"], carrier=None))
        await p.register(regs(["DHLECOM123"], carrier="dhlecommerce"))  # no single 17TRACK key
    assert fake.parcels["UNKNOWN123"].carrier == fake.default_carrier
    assert fake.parcels["DHLECOM123"].carrier == fake.default_carrier


async def test_no_quota_left_is_quota_exhausted() -> None:
    fake = fast(quota=0)
    async with provider(fake) as p:
        with pytest.raises(QuotaExhausted):
            await p.register(regs(["RR2CN12345"]))
        assert await p.quota_left() == 0
    assert "RR2CN12345" not in fake.parcels


async def test_quota_running_out_mid_batch_raises_and_a_retry_costs_nothing_twice() -> None:
    fake = fast(quota=1)
    async with provider(fake) as p:
        with pytest.raises(QuotaExhausted):
            await p.register(regs(["RR3CN12345", "RR4CN12345"]))
        fake.quota = 2
        again = await p.register(regs(["RR3CN12345", "RR4CN12345"]))
    assert again.already == ["RR3CN12345"] and again.accepted == ["RR4CN12345"]
    assert fake.registrations("RR3CN12345") == 1


async def test_over_the_request_rate_is_rate_limited() -> None:
    fake = FakeSeventeenTrack(rate_per_second=1)
    async with provider(fake) as p:
        await p.quota_left()
        with pytest.raises(RateLimited):
            await p.quota_left()


async def test_a_5xx_or_a_down_provider_is_unavailable() -> None:
    fake = fast()
    async with provider(fake) as p:
        fake.fail_next(1, status=500)
        with pytest.raises(ProviderUnavailable):
            await p.register(regs(["RR5CN12345"]))
        fake.fail_next(1, status=503)
        with pytest.raises(ProviderUnavailable):
            await p.fetch([("RR5CN12345", None)])
        fake.down = True
        with pytest.raises(ProviderUnavailable):
            await p.quota_left()
    assert "RR5CN12345" not in fake.parcels


async def test_a_connection_refused_is_unavailable() -> None:
    fake = fast()
    async with serving(fake.app()) as url:
        pass  # the server is gone: nothing listens on its port any more
    async with client(url) as http:
        p = SeventeenTrack(Account("a", "17track", fake.api_key), http, url)
        with pytest.raises(ProviderUnavailable):
            await p.quota_left()


async def test_a_wrong_key_is_auth_rejected() -> None:
    fake = fast()
    async with provider(fake, api_key="not-the-key") as p:
        with pytest.raises(AuthRejected):
            await p.register(regs(["RR6CN12345"]))


async def test_fetch_maps_snapshots_and_reports_unknown_numbers() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register(regs(["RR7CN12345"]))
        fake.scan(
            "RR7CN12345",
            "InTransit",
            "InTransit_PickedUp",
            "Picked up",
            at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=CN),
            location="Shenzhen",
            country="CN",
        )
        fake.scan(
            "RR7CN12345",
            "InTransit",
            "InTransit_CustomsProcessing",
            "Import clearance",
            at=dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC),
            location="Frankfurt",
            country="DE",
        )
        fake.parcels["RR7CN12345"].estimated_delivery = (
            "2026-12-01T00:00:00Z",
            "2026-12-05T00:00:00Z",
        )
        outcome = await p.fetch([("RR7CN12345", "chinapost"), ("NOPE123456", None)])
    assert outcome.unknown == ["NOPE123456"]
    [snap] = outcome.snapshots
    assert snap.number == "RR7CN12345" and snap.carrier == "chinapost"
    assert snap.status == ParcelStatus.IN_CUSTOMS
    assert snap.provider_status == "InTransit/CustomsProcessing"
    assert snap.estimated_delivery == dt.date(2026, 12, 5)
    assert not snap.stopped
    assert [c.description for c in snap.checkpoints] == ["Picked up", "Import clearance"]
    first = snap.checkpoints[0]
    assert first.occurred_at == dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    assert first.status == ParcelStatus.IN_TRANSIT and first.country == "CN"
    assert first.location == "Shenzhen"


async def test_a_number_without_news_yet_is_pending() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register(regs(["RR0CN00000"], carrier="chinapost"))
        fake.no_info.add("RR0CN00000")
        outcome = await p.fetch([("RR0CN00000", "chinapost")])
    [snap] = outcome.snapshots
    assert (snap.status, snap.carrier, snap.checkpoints) == (ParcelStatus.PENDING, "chinapost", [])
    assert outcome.unknown == []


async def test_fetch_of_45_numbers_takes_two_calls() -> None:
    fake = fast()
    numbers = [f"LP{i:011d}" for i in range(45)]
    async with provider(fake) as p:
        await p.register(regs(numbers, carrier="cainiao"))
        outcome = await p.fetch([(n, "cainiao") for n in numbers])
    assert fake.count("gettrackinfo") == 2
    assert len(outcome.snapshots) == 45
    assert {s.status for s in outcome.snapshots} == {ParcelStatus.PENDING}
    assert {s.carrier for s in outcome.snapshots} == {"cainiao"}


async def test_change_carrier_and_stop() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register(regs(["YT1234567890"], carrier="chinapost"))
        await p.change_carrier("YT1234567890", "chinapost", "yunexpress")
        [snap] = (await p.fetch([("YT1234567890", "yunexpress")])).snapshots
        assert snap.carrier == "yunexpress"
        with pytest.raises(ProviderError):
            await p.change_carrier("YT1234567890", "yunexpress", "yunexpress")
        await p.stop([("YT1234567890", "yunexpress")])
        assert fake.parcels["YT1234567890"].tracking is False
        await p.stop([("YT1234567890", "yunexpress"), ("NEVER12345", None)])  # no error


async def test_the_fake_refuses_more_than_40_numbers_and_a_bad_body() -> None:
    fake = fast()
    async with serving(fake.app()) as url, httpx.AsyncClient(base_url=url) as http:
        headers = {"17token": fake.api_key}
        r = await http.post(
            "/track/v2.2/register",
            headers=headers,
            json=[{"number": f"N{i:08d}"} for i in range(41)],
        )
        assert r.json()["code"] == -18010014
        r = await http.post("/track/v2.2/register", headers=headers, json={"number": "X"})
        assert r.json()["code"] == -18010013
        r = await http.post("/track/v2.2/register", json=[{"number": "ABC12345"}])
        assert r.status_code == 401
    assert fake.parcels == {} and fake.quota_used == 0


# -- pushes ----------------------------------------------------------------------------


async def test_verify_push_accepts_the_fakes_signature_only() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register(regs(["RR8CN12345"]))
    fake.scan("RR8CN12345", "Delivered", "Delivered_Other", "Delivered")
    body, headers = fake.push_body("RR8CN12345")
    account = Account("a", "17track", fake.api_key)
    assert SeventeenTrack.verify_push(account, headers, body)
    assert SeventeenTrack.verify_push(account, {"Sign": headers["sign"].upper()}, body)
    tampered = body.replace(b"Delivered", b"Exception", 1)
    assert not SeventeenTrack.verify_push(account, headers, tampered)
    assert not SeventeenTrack.verify_push(Account("a", "17track", "other"), headers, body)
    assert not SeventeenTrack.verify_push(account, {}, body)


async def test_parse_push_updated_duplicate_and_stopped() -> None:
    fake = fast()
    async with provider(fake) as p:
        await p.register(regs(["RR9CN12345"]))
    fake.scan(
        "RR9CN12345",
        "Exception",
        "Exception_Returning",
        "Returned to sender",
        at=dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC),
    )
    body, _ = fake.push_body("RR9CN12345")
    [snap] = SeventeenTrack.parse_push(body)
    assert snap.status == ParcelStatus.RETURNING and not snap.stopped
    assert snap.provider_status == "Exception/Returning"
    assert SeventeenTrack.parse_push(body) == [snap]  # a duplicate push: the same snapshot

    stopped_body, _ = fake.push_body("RR9CN12345", event="TRACKING_STOPPED")
    [stop] = SeventeenTrack.parse_push(stopped_body)
    assert stop.stopped and stop.number == "RR9CN12345" and stop.carrier == "chinapost"
    assert stop.status == ParcelStatus.EXPIRED and stop.checkpoints == []

    with pytest.raises(ValueError):
        SeventeenTrack.parse_push(b"not json")
    with pytest.raises(ValueError):
        SeventeenTrack.parse_push(json.dumps({"event": "OTHER", "data": {}}).encode())
    with pytest.raises(ValueError):
        SeventeenTrack.parse_push(
            json.dumps({"event": "TRACKING_UPDATED", "data": {"carrier": 3011}}).encode()
        )
