"""Background workers that drain a table (outbox, webhook deliveries, buyer messages):
woken right after a commit that gave them work, and polling too (work left by a crash,
retries that came due)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

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

    @property
    def pending(self) -> bool:
        """Set since the last wait: more work has been committed."""
        return self._event.is_set()

    async def wait(self, at_most: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), at_most)
        self._event.clear()


class Backlog:
    """Whether a worker has work in hand (a step running, or more already signalled),
    so that a worker whose work can wait (buyer e-mails) gives way to one whose work
    cannot (confirming orders) on a machine where they share the cores. The one that
    gives way waits a bounded time, so it is delayed under sustained load but never
    starved.

    "In hand", not "more than a batch waiting": replicas share a burst by SKIP LOCKED,
    so each one's batches are partial while the burst lasts, and a full-batch test
    let the e-mails compete with the confirmations for the whole of it."""

    def __init__(self) -> None:
        self._quiet = asyncio.Event()
        self._quiet.set()

    def working(self) -> None:
        self._quiet.clear()

    def idle(self) -> None:
        self._quiet.set()

    @property
    def busy(self) -> bool:
        return not self._quiet.is_set()

    async def wait_quiet(self, at_most: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), at_most)


async def drain_forever(
    name: str,
    step: Callable[[], Awaitable[int]],
    signal: CommitSignal,
    *,
    poll_seconds: float,
    batch_size: int,
    backlog: Backlog | None = None,
    give_way_to: Sequence[Backlog] = (),
    give_way_seconds: float = 30.0,
) -> None:
    """Run ``step`` (returns how many items it handled) until cancelled; a full batch
    means more is waiting, so go again at once; an error is logged, never fatal.
    ``backlog``: where this worker reports whether it has work in hand; ``give_way_to``:
    other workers' backlogs to wait out (at most ``give_way_seconds`` in all) before a
    step."""
    while True:
        deadline = asyncio.get_running_loop().time() + give_way_seconds
        for other in give_way_to:
            left = deadline - asyncio.get_running_loop().time()
            if other.busy and left > 0:
                await other.wait_quiet(left)
        if backlog is not None:
            backlog.working()
        try:
            handled = await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("worker_error", worker=name, error=f"{type(exc).__name__}: {exc}")
            handled = 0
        if handled < batch_size:
            if backlog is not None and not signal.pending:
                backlog.idle()
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
