"""Background workers that drain a table (outbox, webhook deliveries, buyer messages):
woken right after a commit that gave them work, and polling too (work left by a crash,
retries that came due)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import Database

log = structlog.get_logger(__name__)


class CommitSignal:
    """Set after a commit whose session carries ``session.info[flag] = True``."""

    def __init__(self, db: Database, flag: str) -> None:
        self.flag = flag
        self._event = asyncio.Event()
        db.after_commit.append(self._after_commit)

    def _after_commit(self, session: AsyncSession) -> None:
        if session.info.pop(self.flag, False):
            self._event.set()

    def set(self) -> None:
        self._event.set()

    async def wait(self, at_most: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), at_most)
        self._event.clear()


async def drain_forever(
    name: str,
    step: Callable[[], Awaitable[int]],
    signal: CommitSignal,
    *,
    poll_seconds: float,
    batch_size: int,
) -> None:
    """Run ``step`` (returns how many items it handled) until cancelled; a full batch
    means more is waiting, so go again at once; an error is logged, never fatal."""
    while True:
        try:
            handled = await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("worker_error", worker=name, error=f"{type(exc).__name__}: {exc}")
            handled = 0
        if handled < batch_size:
            await signal.wait(poll_seconds)


async def every(
    name: str, seconds: float, step: Callable[[], Awaitable[dict[str, int] | None]]
) -> None:
    """Run ``step`` every ``seconds`` until cancelled; what it did (non-zero counts) is
    logged, an error is logged and never fatal."""
    while True:
        try:
            counts = await step()
            if counts and any(counts.values()):
                log.info(name, **counts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("worker_error", worker=name, error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(seconds)
