"""The webhook path's shop cache: concurrent misses of one shop share one read."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from order_intake.models import Shop
from order_intake.webhooks.intake import ShopCache


class _Db:
    """Stands in for Database: counts reads, each held until ``release`` is set."""

    def __init__(self, shop: Shop | None, fail: bool = False) -> None:
        self.shop, self.fail, self.reads = shop, fail, 0
        self.release = asyncio.Event()

    @contextlib.asynccontextmanager
    async def sessions(self) -> AsyncIterator[Any]:
        db = self

        class _Session:
            async def scalar(self, _q: Any) -> Shop | None:
                db.reads += 1
                await db.release.wait()
                if db.fail:
                    raise ConnectionError("database away")
                return db.shop

        yield _Session()


def _shop() -> Shop:
    return Shop(
        id=uuid.uuid4(),
        platform="shopify",
        domain="a.myshopify.com",
        webhook_secrets=["s1"],
        active=True,
    )


async def test_concurrent_misses_share_one_read_and_the_next_call_is_a_hit() -> None:
    db = _Db(_shop())
    cache = ShopCache(db)  # type: ignore[arg-type]
    waiting = [asyncio.create_task(cache.get("shopify", "a.myshopify.com")) for _ in range(50)]
    await asyncio.sleep(0)  # let every task reach the cache
    db.release.set()
    snaps = await asyncio.gather(*waiting)
    assert db.reads == 1
    assert {s.domain for s in snaps if s is not None} == {"a.myshopify.com"}
    assert await cache.get("shopify", "a.myshopify.com") is snaps[0]
    assert db.reads == 1


async def test_a_failed_read_fails_its_waiters_and_is_not_cached() -> None:
    db = _Db(_shop(), fail=True)
    cache = ShopCache(db)  # type: ignore[arg-type]
    waiting = [asyncio.create_task(cache.get("shopify", "a.myshopify.com")) for _ in range(3)]
    await asyncio.sleep(0)
    db.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    db.fail = False
    assert (await cache.get("shopify", "a.myshopify.com")) is not None
    assert db.reads == 2


async def test_an_unparseable_woocommerce_shop_id_is_no_shop() -> None:
    db = _Db(None)
    db.release.set()
    assert await ShopCache(db).get("woocommerce", "not-a-uuid") is None  # type: ignore[arg-type]
    assert db.reads == 0


async def test_a_clear_during_a_read_keeps_that_read_out_of_the_cache() -> None:
    db = _Db(_shop())
    cache = ShopCache(db)  # type: ignore[arg-type]
    first = asyncio.create_task(cache.get("shopify", "a.myshopify.com"))
    await asyncio.sleep(0)
    cache.clear()  # e.g. a secret rotated through the API while the read was out
    db.release.set()
    assert await first is not None
    await cache.get("shopify", "a.myshopify.com")
    assert db.reads == 2  # read again, not served from before the rotation
