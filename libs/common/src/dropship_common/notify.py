"""Waking a worker in another process: PostgreSQL LISTEN/NOTIFY (the in-process
:class:`~dropship_common.workers.CommitSignal` covers one process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog

from dropship_common.backoff import backoff_delay

log = structlog.get_logger(__name__)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def listen_forever(url: str, channel: str, on_notify: Callable[[], None]) -> None:
    """Call ``on_notify`` for each NOTIFY on ``channel``; reconnect when the database
    goes away (the worker's polling covers the gap)."""
    failures = 0
    while True:
        conn: Any = None
        try:
            conn = await asyncpg.connect(asyncpg_dsn(url))
            closed = asyncio.Event()
            conn.add_termination_listener(lambda *_, gone=closed: gone.set())
            await conn.add_listener(channel, lambda *_: on_notify())
            failures = 0
            on_notify()  # anything committed while we were away
            await closed.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("listen_failed", channel=channel, error=str(exc))
        finally:
            if conn is not None and not conn.is_closed():
                await conn.close()
        failures += 1
        await asyncio.sleep(backoff_delay(failures, base=0.5, cap=10.0))
