"""Transactional outbox: events are rows written in the same transaction as the state
change that caused them; the relay publishes them and marks them sent only after the
broker confirmed. A crash between confirm and mark republishes: consumers dedupe by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.backoff import backoff_interval
from dropship_common.db import Database, utcnow
from dropship_common.messaging.bus import Bus
from dropship_common.messaging.envelope import Envelope
from dropship_common.observability import OUTBOX_PENDING, OUTBOX_PUBLISHED
from dropship_common.workers import Backlog, CommitSignal, drain_forever

log = structlog.get_logger(__name__)

OUTBOX_FLAG = "outbox_dirty"  # set on a session that wrote events


class Outbox:
    """Writes events into the current transaction (never commits)."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table

    async def add(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        now = utcnow()
        await session.execute(
            sa.insert(self.table),
            [
                {
                    "id": e.id,
                    "type": e.type,
                    "correlation_id": e.correlation_id,
                    "envelope": orjson.loads(e.to_json()),  # cheaper than model_dump
                    # the relay publishes an order's events in created_at order: one
                    # microsecond apart, a batch's events keep the order they were
                    # written in (the same instant left it to chance)
                    "created_at": now + dt.timedelta(microseconds=i),
                    "next_attempt_at": now,
                    "attempts": 0,
                }
                for i, e in enumerate(envelopes)
            ],
        )
        session.info[OUTBOX_FLAG] = True

    async def forget(self, session: AsyncSession, correlation_ids: Sequence[str]) -> None:
        """Delete the sent events of these orders (personal data redaction)."""
        t = self.table
        await session.execute(
            sa.delete(t).where(
                t.c.correlation_id.in_(list(correlation_ids)), t.c.published_at.is_not(None)
            )
        )


class OutboxRelay:
    """Publishes pending outbox rows. Woken right after a commit that added events,
    and polls too (rows left by a crash, retries after a broker outage). Rows are
    claimed with ``FOR UPDATE SKIP LOCKED`` so several replicas can run it."""

    def __init__(
        self,
        service: str,
        db: Database,
        table: sa.Table,
        bus: Bus,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        max_backoff_seconds: float = 60.0,
    ) -> None:
        self.service = service
        self.db = db
        self.table = table
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.max_backoff = max_backoff_seconds
        self._signal = CommitSignal(db, OUTBOX_FLAG)
        self._task: asyncio.Task[None] | None = None
        self.backlog = Backlog()  # work in hand: others may give way

    def wake(self) -> None:
        self._signal.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        await drain_forever(
            f"outbox-relay-{self.service}",
            self.publish_pending,
            self._signal,
            poll_seconds=self.poll_seconds,
            batch_size=self.batch_size,
            backlog=self.backlog,
        )

    def _backoff(self, attempts: int) -> dt.timedelta:
        # 0.5 s after the first failure (attempts 0), doubling, half of it at random
        return backoff_interval(attempts + 1, base=0.5, cap=self.max_backoff, jitter=0.5)

    async def publish_pending(self) -> int:
        """One pass: publish up to ``batch_size`` due rows; returns how many went out.

        Events of one order (correlation id) go out one after the other, in the order
        they were written; different orders go out concurrently. After a failure, the
        later events of that order wait for the next pass."""
        if not await self.bus.is_ready():
            return 0  # no rows held while the broker is away; the outbox keeps them
        t = self.table
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    sa.select(t.c.id, t.c.envelope, t.c.attempts)
                    .where(t.c.published_at.is_(None), t.c.next_attempt_at <= utcnow())
                    .order_by(t.c.created_at)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            chains: dict[str | None, list[Any]] = {}
            for r in rows:
                chains.setdefault(r.envelope.get("correlation_id") or str(r.id), []).append(r)
            outcome: dict[Any, BaseException | None] = {}

            async def publish_chain(chain: list[Any]) -> None:
                for r in chain:
                    try:
                        await self.bus.publish([Envelope.model_validate(r.envelope)])
                    except Exception as exc:
                        outcome[r.id] = exc
                        return
                    outcome[r.id] = None

            await asyncio.gather(*(publish_chain(c) for c in chains.values()))
            now = utcnow()
            sent = [rid for rid, res in outcome.items() if res is None]
            if sent:
                await session.execute(
                    sa.update(t).where(t.c.id.in_(sent)).values(published_at=now, last_error=None)
                )
            for r in rows:
                res = outcome.get(r.id)
                if res is not None:
                    await session.execute(
                        sa.update(t)
                        .where(t.c.id == r.id)
                        .values(
                            attempts=r.attempts + 1,
                            next_attempt_at=now + self._backoff(r.attempts),
                            last_error=f"{type(res).__name__}: {res}"[:2000],
                        )
                    )
            failed = sum(1 for res in outcome.values() if res is not None)
            if failed:
                log.warning("outbox_publish_failed", service=self.service, failed=failed)
        OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        return len(sent)

    async def pending_count(self) -> int:
        t = self.table
        async with self.db.sessions() as session:
            n = await session.scalar(
                sa.select(sa.func.count()).select_from(t).where(t.c.published_at.is_(None))
            )
        OUTBOX_PENDING.labels(self.service).set(n or 0)
        return int(n or 0)

    async def purge_published(self, older_than: dt.timedelta) -> int:
        t = self.table
        async with self.db.transaction() as session:
            res = await session.execute(
                sa.delete(t).where(
                    t.c.published_at.is_not(None), t.c.published_at < utcnow() - older_than
                )
            )
        return int(getattr(res, "rowcount", 0) or 0)
