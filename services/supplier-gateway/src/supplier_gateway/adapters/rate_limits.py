"""An outside account's rate limit kept in the database (``rate_slots``), so that every
process calling the account (gateway replicas, and each process's adapters) keeps to
it together: a per-process token bucket lets N replicas send N times the account's
rate, and CJ refuses the excess.

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
    " RETURNING extract(epoch FROM next_free) - :step,"
    " extract(epoch FROM next_free - clock_timestamp()) - :step"
)


class DbRateLimiter:
    """``rate`` calls per second for the account ``key``, across processes."""

    def __init__(
        self,
        db: Database,
        key: str,
        rate: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.db, self.key, self.step = db, key, 1.0 / rate
        self._sleep = sleep

    async def reserve(self) -> tuple[float, float]:
        """Take the next slot: (its start as Unix time, seconds until then)."""
        async with self.db.transaction() as session:
            start, wait = (
                await session.execute(_RESERVE, {"key": self.key, "step": self.step})
            ).one()
        return float(start), max(0.0, float(wait))

    async def acquire(self) -> None:
        _, wait = await self.reserve()
        if wait > 0:
            await self._sleep(wait)
