"""Helpers for tests of a message bus: a handler that records what it gets, envelopes,
and waiting on a condition with a deadline (never a sleep as synchronisation)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dropship_common.messaging.bus import Delivery
from dropship_common.messaging.envelope import Envelope


def envelope(type_: str = "order.confirmed", **payload: Any) -> Envelope:
    return Envelope(type=type_, correlation_id="order-1", payload=payload or {"n": 1})


async def eventually(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any], timeout: float = 10.0
) -> Any:
    """The first truthy result of ``check`` (a function or a coroutine function),
    polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


class Recorder:
    """A handler that records its deliveries (with their time); it fails the first
    ``fail_times`` of them."""

    def __init__(self, fail_times: int = 0, wait: float = 10.0) -> None:
        self.fail_times = fail_times
        self.wait = wait
        self.calls: list[tuple[Envelope, Delivery, float]] = []
        self.done: asyncio.Queue[tuple[Envelope, Delivery]] = asyncio.Queue()

    async def __call__(self, env: Envelope, delivery: Delivery) -> None:
        self.calls.append((env, delivery, time.monotonic()))
        if len(self.calls) <= self.fail_times:
            raise RuntimeError(f"boom {len(self.calls)}")
        await self.done.put((env, delivery))

    async def next(self) -> tuple[Envelope, Delivery]:
        return await asyncio.wait_for(self.done.get(), self.wait)
