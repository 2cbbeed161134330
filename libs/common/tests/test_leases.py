"""one_by_one_within: work a batch in turn, handing back what cannot start in time."""

from __future__ import annotations

import datetime as dt

from dropship_common.leases import one_by_one_within


async def test_items_not_started_within_half_the_lease_come_back_unsent() -> None:
    now = [100.0]
    sent: list[str] = []

    async def send(item: str) -> str:
        sent.append(item)
        now[0] += 20.0  # each send takes 20 s of a 100 s lease
        return item.upper()

    done = await one_by_one_within(
        dt.timedelta(seconds=100), ["a", "b", "c", "d"], send, clock=lambda: now[0]
    )
    # a starts at 0 s, b at 20 s, c at 40 s; d would start at 60 s, past half the lease
    assert done == [("a", "A"), ("b", "B"), ("c", "C"), ("d", None)]
    assert sent == ["a", "b", "c"]


async def test_a_lease_of_zero_sends_nothing() -> None:
    async def send(item: int) -> int:
        raise AssertionError("nothing may be sent")

    assert await one_by_one_within(dt.timedelta(0), [1, 2], send) == [(1, None), (2, None)]
