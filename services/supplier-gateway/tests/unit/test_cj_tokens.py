"""CJ access tokens: renewed with the refresh token a day before they expire, a new one
only within CJ's limit (one getAccessToken per 5 minutes), a token CJ stops accepting
replaced once; against the fake CJ in-process."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from dropship_testkit.fakes.cj import FakeCJ
from supplier_gateway.adapters.base import SavedToken, SupplierMisconfigured, SupplierUnavailable
from supplier_gateway.adapters.cjdropshipping import TokenManager


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.now = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += dt.timedelta(seconds=seconds)


def _setup(clock: Clock, **kw) -> tuple[FakeCJ, httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    fake = FakeCJ(wall=lambda: clock.now, mono=lambda: clock.mono, **kw)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url="http://cj")
    return fake, client


async def test_token_reused_then_refreshed_before_expiry() -> None:
    clock = Clock()
    fake, client = _setup(clock)
    tokens = TokenManager(client, fake.api_key, wall=lambda: clock.now)
    first = await tokens.token()
    assert await tokens.token() == first
    assert fake.count("/getAccessToken") == 1 and tokens.open_id == str(fake.open_id)
    clock.advance(13 * 86400)  # two days left: still good
    assert await tokens.token() == first and fake.count("/refreshAccessToken") == 0
    clock.advance(86400 + 60)  # under a day left: renewed with the refresh token
    second = await tokens.token()
    assert second != first and second in fake.tokens
    assert fake.count("/refreshAccessToken") == 1 and fake.count("/getAccessToken") == 1
    clock.advance(86400 * 2)  # the old token has expired at CJ; the new one is used
    assert await tokens.token() == second


async def test_new_token_only_once_every_five_minutes() -> None:
    clock = Clock()
    fake, client = _setup(clock)
    tokens = TokenManager(client, fake.api_key, wall=lambda: clock.now)
    await tokens.token()
    tokens.refresh_token = None  # nothing to renew with
    await tokens.invalidate()
    with pytest.raises(SupplierUnavailable) as info:
        await tokens.token()
    assert info.value.retry_after == pytest.approx(300.0)
    assert fake.count("/getAccessToken") == 1  # refused here, not sent to CJ
    clock.advance(301)
    assert await tokens.token() in fake.tokens
    assert fake.count("/getAccessToken") == 2


async def test_expired_refresh_token_falls_back_to_the_api_key() -> None:
    clock = Clock()
    fake, client = _setup(clock, refresh_ttl=dt.timedelta(days=10))
    tokens = TokenManager(client, fake.api_key, wall=lambda: clock.now)
    await tokens.token()
    fake.refresh_tokens.clear()  # CJ no longer knows it
    clock.advance(14 * 86400 + 60)
    assert await tokens.token() in fake.tokens
    assert fake.count("/refreshAccessToken") == 0  # expired here: not tried
    assert fake.count("/getAccessToken") == 2


async def test_wrong_api_key_is_a_configuration_error() -> None:
    clock = Clock()
    _, client = _setup(clock)
    tokens = TokenManager(client, "CJ0@api@wrong", wall=lambda: clock.now)
    with pytest.raises(SupplierMisconfigured):
        await tokens.token()


class MemoryStore:
    def __init__(self) -> None:
        self.saved: SavedToken | None = None

    async def load(self) -> SavedToken | None:
        return self.saved

    async def save(self, token: SavedToken) -> None:
        self.saved = token


async def test_a_restart_reuses_the_saved_token_of_the_same_key_only() -> None:
    clock = Clock()
    fake, client = _setup(clock)
    store = MemoryStore()
    first = await TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store).token()
    assert store.saved is not None and store.saved.issued_at == clock.now
    clock.advance(60)  # a restart a minute later: CJ would refuse a new token
    again = TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store)
    assert await again.token() == first and again.open_id == str(fake.open_id)
    assert fake.count("/getAccessToken") == 1
    # a new API key (another account) does not take over the old account's token
    fake.api_key = "CJ2@api@another"
    clock.advance(301)  # (the fake holds one account: its 5-minute limit)
    other = TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store)
    assert await other.token() != first
    assert fake.count("/getAccessToken") == 2


async def test_replicas_share_a_renewed_token_through_the_store() -> None:
    """Two processes with one store: the second takes the token the first renewed
    instead of renewing with a refresh token CJ has already used (which would cost a
    getAccessToken, or five minutes' wait if one was just made)."""
    clock = Clock()
    fake, client = _setup(clock)
    store = MemoryStore()
    a = TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store)
    b = TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store)
    first = await a.token()
    assert await b.token() == first
    clock.advance(14 * 86400 + 60)  # under a day left: due for renewal
    renewed = await a.token()
    assert renewed != first and fake.count("/refreshAccessToken") == 1
    assert await b.token() == renewed
    assert fake.count("/refreshAccessToken") == 1 and fake.count("/getAccessToken") == 1


async def test_a_refused_token_is_renewed_and_does_not_erase_a_newer_saved_one() -> None:
    clock = Clock()
    fake, client = _setup(clock)
    store = MemoryStore()
    a = TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store)
    b = TokenManager(client, fake.api_key, wall=lambda: clock.now, store=store)
    first = await a.token()
    assert await b.token() == first
    await a.invalidate()  # CJ refused it (say): a renews with the refresh token
    renewed = await a.token()
    assert renewed != first and store.saved is not None
    assert store.saved.access_token == renewed
    await b.invalidate()  # b's copy of the old token is refused too
    assert store.saved.access_token == renewed  # not wiped
    assert await b.token() == renewed  # taken from the store, nothing sent to CJ
    assert fake.count("/refreshAccessToken") == 1 and fake.count("/getAccessToken") == 1
