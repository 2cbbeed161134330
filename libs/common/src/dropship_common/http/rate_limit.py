"""Waiting for the next call slot: the protocol, and a per-process token bucket."""

from __future__ import annotations

import asyncio
from typing import Protocol

from dropship_common.http.policy import (
    Clock,
    Sleep,
)


class RateLimiter(Protocol):
    """Waits until the next call may go out (per account, shared by replicas: a table;
    per process: :class:`TokenBucket`)."""

    async def acquire(self) -> None: ...


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; waiters queue on a lock."""

    def __init__(self, rate: float, burst: float, clock: Clock, sleep: Sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)
