"""A test consumer: binds its own queue and collects what it receives."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from dropship_common.messaging.bus import Bus, Delivery
from dropship_common.messaging.envelope import Envelope

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


class EventTap:
    def __init__(self, bus: Bus, queue: str | None = None) -> None:
        self.bus = bus
        self.queue = queue or f"test-tap-{uuid.uuid4().hex[:8]}"
        self.received: list[Envelope] = []
        self._changed = asyncio.Condition()

    async def start(self, bindings: Sequence[str]) -> EventTap:
        await self.bus.subscribe(self.queue, bindings, self._handle)
        return self

    async def _handle(self, envelope: Envelope, _delivery: Delivery) -> None:
        async with self._changed:
            self.received.append(envelope)
            self._changed.notify_all()

    def of_type(self, type_: str, **payload: Any) -> list[Envelope]:
        return [
            e
            for e in self.received
            if e.type == type_ and all(e.payload.get(k) == v for k, v in payload.items())
        ]

    async def wait_for(
        self, type_: str, count: int = 1, timeout: float = 15.0, **payload: Any
    ) -> list[Envelope]:
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.of_type(type_, **payload)) >= count),
                    timeout,
                )
            except TimeoutError as exc:
                raise AssertionError(
                    f"expected {count} {type_} within {timeout}s, "
                    f"got {len(self.of_type(type_, **payload))}"
                ) from exc
        return self.of_type(type_, **payload)
