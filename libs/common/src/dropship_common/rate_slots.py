"""An outside account's rate limit kept in the database (a ``rate_slots`` table of
``key`` text primary key and ``next_free`` timestamp in the service's schema), so that
every process calling the account (replicas, and each process's adapters) keeps to it
together: a per-process token bucket lets N replicas send N times the account's rate,
and the vendor refuses the excess (CJ's QPS, 17TRACK's requests per second).

Each call reserves the account's next free slot in one statement (``next_free`` moves
on by 1/rate from whichever is later, itself or now) and waits until its slot starts;
no transaction is held while it waits. Embedded mode (SQLite, one process) keeps the
in-process token bucket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import sqlalchemy as sa

from dropship_common.db import Database

_RESERVE = sa.text(
    "INSERT INTO rate_slots (key, next_free)"
    " VALUES (:key, clock_timestamp() + make_interval(secs => :step))"
    " ON CONFLICT (key) DO UPDATE SET next_free ="
    " greatest(rate_slots.next_free, clock_timestamp()) + make_interval(secs => :step)"
    " WHERE rate_slots.next_free < clock_timestamp() + make_interval(secs => :max_wait)"
    " RETURNING extract(epoch FROM next_free) - :step,"
    " extract(epoch FROM next_free - clock_timestamp()) - :step"
)


class DbRateLimiter:
    """``rate`` calls per second for the account ``key``, across processes. A call whose
    slot would start more than ``max_wait`` seconds from now takes none and fails with
    the error ``on_full`` makes (the caller retries later): a worker's claim must not
    run out while its call is still queued (another worker would claim it again)."""

    def __init__(
        self,
        db: Database,
        key: str,
        rate: float,
        *,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_full: Callable[[str, float], Exception] = lambda message, _wait: RuntimeError(message),
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.db, self.key, self.step, self.max_wait = db, key, 1.0 / rate, max_wait
        self._sleep = sleep
        self._on_full = on_full

    async def reserve(self) -> tuple[float, float] | None:
        """Take the next slot: (its start as Unix time, seconds until then); None when
        the queue is longer than ``max_wait``."""
        params = {"key": self.key, "step": self.step, "max_wait": self.max_wait}
        async with self.db.transaction() as session:
            row = (await session.execute(_RESERVE, params)).one_or_none()
        if row is None:
            return None
        return float(row[0]), max(0.0, float(row[1]))

    async def acquire(self) -> None:
        slot = await self.reserve()
        if slot is None:
            raise self._on_full(
                f"the account's rate limit: more than {self.max_wait:g} s of calls queued",
                self.max_wait,
            )
        if slot[1] > 0:
            await self._sleep(slot[1])
