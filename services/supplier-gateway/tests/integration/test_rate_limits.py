"""An account's rate limit shared by every process that calls it (``rate_slots`` on
PostgreSQL): two gateway replicas keep to one CJ account's QPS together."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import pytest

from supplier_gateway.adapters.base import NOT_FOUND, SupplierUnavailable
from supplier_gateway.adapters.rate_limits import DbRateLimiter
from supplier_gateway.main import SPEC
from supplier_gateway.placement.worker import make_registry

from ..unit.test_notice_and_customs import _order
from .cj_helpers import FAST, cj_supplier, fake_cj

pytestmark = pytest.mark.integration


async def test_slots_are_handed_out_one_rate_step_apart_across_limiters(start_service) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    key = f"test:{uuid.uuid4()}"
    a, b = (DbRateLimiter(gw.runtime.db, key, 5.0, sleep=no_sleep) for _ in range(2))
    slots = [await limiter.reserve() for limiter in (a, b, a, b, a, b)]
    starts = [slot[0] for slot in slots if slot is not None]
    steps = [round(later - earlier, 6) for earlier, later in itertools.pairwise(starts)]
    assert steps == [0.2] * 5  # one account, whichever process asks
    other = DbRateLimiter(gw.runtime.db, f"test:{uuid.uuid4()}", 5.0)
    assert await other.reserve() == (pytest.approx(time.time(), abs=5), 0.0)  # no wait
    await a.acquire()  # the 7th slot: it waits for it
    assert len(waits) == 1 and 1.0 < waits[0] <= 1.2


async def test_a_call_queued_past_the_longest_wait_takes_no_slot(start_service) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    key = f"test:{uuid.uuid4()}"
    limiter = DbRateLimiter(gw.runtime.db, key, 1.0, max_wait=2.5)
    slots = [await limiter.reserve() for _ in range(4)]
    assert [s is not None for s in slots] == [True, True, True, False]  # 0 s, 1 s, 2 s
    with pytest.raises(SupplierUnavailable) as refused:
        await limiter.acquire()
    assert refused.value.retry_after == 2.5
    # the refused ones took no slot: the next one free is still 3 s after the first
    assert slots[0] is not None
    later = DbRateLimiter(gw.runtime.db, key, 1.0, max_wait=10.0)
    slot = await later.reserve()
    assert slot is not None and round(slot[0] - slots[0][0], 6) == 3.0


async def test_two_replicas_keep_to_one_cj_accounts_qps(start_service) -> None:  # type: ignore[no-untyped-def]
    """Each replica's own token bucket would send 0.9 x QPS: together 1.8 x, and CJ
    refuses the excess (HTTP 429, 1600200). With the shared slots it refuses none."""
    async with fake_cj(qps=2) as (cj, url):
        gw = await start_service(SPEC, cj_base_url=url, **FAST)
        sid = uuid.UUID(await cj_supplier(gw, cj, _order().shop_id, qps=2))
        refused: list[int] = []
        too_many = cj._too_many

        def counting(*args: Any, **kwargs: Any) -> Any:
            refused.append(1)
            return too_many(*args, **kwargs)

        cj._too_many = counting  # type: ignore[method-assign]
        creds = {"api_key": cj.api_key, "open_id": str(cj.open_id), "qps": 2}
        replicas = [make_registry(gw.runtime) for _ in range(2)]
        try:
            first, second = (r.for_supplier(sid, "cjdropshipping", creds) for r in replicas)
            assert await first.lookup(str(uuid.uuid4())) == NOT_FOUND  # takes the token
            found = await asyncio.gather(
                *(adapter.lookup(str(uuid.uuid4())) for adapter in (first, second) * 3)
            )
        finally:
            for registry in replicas:
                await registry.aclose()
        assert found == [NOT_FOUND] * 6
        assert refused == []
        assert cj.count("/getOrderDetail") == 7
