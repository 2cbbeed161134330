"""The push endpoint's hot path: accounts cached for a few seconds, and pushes written
by a group-committing writer.

Every request hands its verified push to :class:`PushWriter` and waits for the commit
that holds it: concurrent pushes share one multi-row insert (``unnest``-ed arrays on
PostgreSQL) and one ``NOTIFY``, so the database sees a handful of commits a second
instead of one per push, and nothing answered 200 is lost. :class:`AccountCache` keeps
an account's verification data ``ttl`` seconds: a key changed or an account
deactivated elsewhere takes effect within that time (through this process's API, at
once)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from dropship_common.db import Database, utcnow
from logistics.accounts.repository import AccountRepository
from logistics.models import TrackingPush
from logistics.providers.base import Account
from logistics.providers.registry import account_of

MAX_BATCH = 200
_INSERT_PG = """
INSERT INTO tracking_pushes (id, account_id, provider, body, received_at, next_attempt_at,
    attempts)
SELECT *, 0 FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::bytea[],
    $5::timestamptz[], $6::timestamptz[])
"""


@dataclass(frozen=True)
class CachedAccount:
    provider: str
    account: Account
    active: bool


class AccountCache:
    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self.db, self.ttl = db, ttl
        self._found: dict[uuid.UUID, tuple[float, CachedAccount | None]] = {}

    def forget(self, account_id: uuid.UUID | None = None) -> None:
        if account_id is None:
            self._found.clear()
        else:
            self._found.pop(account_id, None)

    async def get(self, account_id: uuid.UUID) -> CachedAccount | None:
        now = time.monotonic()
        hit = self._found.get(account_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        async with self.db.sessions() as session:
            row = await AccountRepository(session).get(account_id)
            found = (
                None if row is None else CachedAccount(row.provider, account_of(row), row.active)
            )
        if len(self._found) > 10_000:
            self._found.clear()
        self._found[account_id] = (now, found)
        return found


class PushWriter:
    def __init__(self, db: Database, channel: str, on_commit: Any) -> None:
        self.db, self.channel, self.on_commit = db, channel, on_commit
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def store(self, account_id: uuid.UUID, provider: str, body: bytes) -> None:
        """Returns once the push is committed."""
        now = utcnow()
        row = (uuid.uuid4(), account_id, provider, body, now, now)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._kick.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_forever(), name="push-writer")
        await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, future in self._pending:
            if not future.done():
                future.set_exception(RuntimeError("the service is stopping"))

    async def _flush_forever(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await self._write([row for row, _ in batch])
                except Exception as exc:  # nothing of the batch is stored: each is told
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.on_commit()
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def _write(self, rows: list[tuple[Any, ...]]) -> None:
        if self.db.is_sqlite:
            columns = ("id", "account_id", "provider", "body", "received_at", "next_attempt_at")
            async with self.db.transaction() as session:
                await session.execute(
                    sa.insert(TrackingPush),
                    [dict(zip(columns, row, strict=True)) | {"attempts": 0} for row in rows],
                )
            return
        arrays = [list(column) for column in zip(*rows, strict=True)]
        async with self.db.driver_connection() as conn, conn.transaction():
            await conn.execute(_INSERT_PG, *arrays)
            await conn.execute("SELECT pg_notify($1, '')", self.channel)
