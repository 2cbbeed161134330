"""The embedded bus: the :class:`~.bus.Bus` contract on one SQLite file.

Durable (WAL, ``synchronous=FULL``) and safe for several processes on the same file:
every write runs in a ``BEGIN IMMEDIATE`` transaction and waits on ``busy_timeout``.

* ``publish`` inserts, in one transaction, one row per queue whose bindings match the
  envelope's type (bindings are read from the file on every publish, so queues bound by
  other processes count). ``UNIQUE(queue, message_id)`` + ``INSERT OR IGNORE`` makes
  publishing the same envelope id twice deliver it once per queue.
* A consumer claims ready rows (``inflight`` + a lease that it renews while the handler
  runs), acks on success, schedules a retry (``retry_delays_ms``) or marks the row
  ``dead`` on failure. A row whose lease expired (its process died) is claimed again
  with ``redelivered=True``; after ``delivery_limit`` such redeliveries it is dead
  (a poison message that keeps killing consumers). ``close`` releases the rows it holds
  so another consumer gets them at once.
* In-process consumers are woken by ``publish`` immediately; otherwise they poll.
* Acked rows are kept (they are the dedupe record) and purged after a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dropship_common.messaging.bus import (
    Bus,
    BusError,
    DeadLetter,
    Delivery,
    Handler,
    Unprocessable,
    Unroutable,
)
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.topics import matches

log = logging.getLogger(__name__)

T = TypeVar("T")

ERROR_MAX_CHARS = 2000
ACKED_RETENTION_SECONDS = 24 * 3600
PURGE_EVERY_SECONDS = 600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (
    queue   TEXT NOT NULL,
    pattern TEXT NOT NULL,
    PRIMARY KEY (queue, pattern)
);
CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    message_id    TEXT    NOT NULL,
    envelope      TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    redeliveries  INTEGER NOT NULL DEFAULT 0,
    available_at  REAL    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'ready'
                  CHECK (state IN ('ready', 'inflight', 'acked', 'dead')),
    last_error    TEXT,
    lease_until   REAL,
    lease_owner   TEXT,
    dead_at       REAL,
    created_at    REAL    NOT NULL,
    acked_at      REAL,
    UNIQUE (queue, message_id)
);
CREATE INDEX IF NOT EXISTS messages_claim ON messages (queue, state, available_at);
CREATE INDEX IF NOT EXISTS messages_acked ON messages (state, acked_at);
"""


@dataclass(frozen=True)
class _Claimed:
    seq: int
    envelope: str
    attempts: int
    redelivered: bool


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]


@contextlib.contextmanager
def _tx(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


class EmbeddedBus(Bus):
    def __init__(
        self,
        path: Path,
        *,
        retry_delays_ms: Sequence[int],
        delivery_limit: int = 20,
        poll_interval: float = 0.5,
        concurrency: int = 8,
        lease_seconds: float = 60.0,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self.retry_delays_ms = list(retry_delays_ms)
        self.delivery_limit = delivery_limit
        self.poll_interval = poll_interval
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.busy_timeout_ms = busy_timeout_ms
        self._owner = uuid.uuid4().hex
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._connect_lock = asyncio.Lock()
        self._closed = False
        self._wakeups: dict[str, asyncio.Event] = {}
        self._loops: set[asyncio.Task[None]] = set()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._last_purge = 0.0

    # -- plumbing ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            with _tx(conn):
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            with self._lock:
                conn = self._conn
                if conn is None:
                    raise BusError(f"embedded bus {self.path} is not connected")
                return fn(conn, *args)

        if self._conn is None:
            await self.connect()
        try:
            return await asyncio.to_thread(call)
        except sqlite3.Error as exc:
            raise BusError(f"embedded bus {self.path}: {exc}") from exc

    def _event(self, queue: str) -> asyncio.Event:
        event = self._wakeups.get(queue)
        if event is None:
            event = self._wakeups[queue] = asyncio.Event()
        return event

    # -- Bus --------------------------------------------------------------------------

    async def connect(self) -> None:
        async with self._connect_lock:
            if self._conn is not None:
                return
            try:
                conn = await asyncio.to_thread(self._open)
            except (sqlite3.Error, OSError) as exc:
                raise BusError(f"cannot open embedded bus {self.path}: {exc}") from exc
            self._conn = conn
            self._closed = False

    async def close(self) -> None:
        self._closed = True
        tasks = [*self._loops, *self._inflight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()
        self._inflight.clear()
        if self._conn is None:
            return
        with contextlib.suppress(BusError):
            # whatever we still hold goes back at once, as a redelivery
            await self._run(self._release)

        def close_conn() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(close_conn)

    async def is_ready(self) -> bool:
        if self._closed or self._conn is None:
            return False
        try:
            await self._run(lambda conn: conn.execute("SELECT 1").fetchone())
        except BusError:
            return False
        return True

    async def declare(self, queue: str, bindings: Sequence[str]) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            with _tx(conn):
                conn.executemany(
                    "INSERT OR IGNORE INTO bindings (queue, pattern) VALUES (?, ?)",
                    [(queue, pattern) for pattern in bindings],
                )

        await self._run(insert)

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        items = [(str(e.id), e.type, e.to_json().decode()) for e in envelopes]
        queues, unroutable = await self._run(self._insert, items, time.time())
        for queue in queues:
            if queue in self._wakeups:
                self._wakeups[queue].set()
        if unroutable:
            raise Unroutable(f"no queue is bound to {', '.join(sorted(set(unroutable)))}")

    async def subscribe(self, queue: str, bindings: Sequence[str], handler: Handler) -> None:
        if self._closed:
            raise BusError("embedded bus is closed")
        await self.declare(queue, bindings)
        task = asyncio.create_task(self._consume(queue, handler), name=f"embedded-bus:{queue}")
        self._loops.add(task)
        task.add_done_callback(self._loops.discard)

    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        def select(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                "SELECT message_id, envelope, attempts, last_error, dead_at FROM messages"
                " WHERE queue = ? AND state = 'dead' ORDER BY seq LIMIT ?",
                (queue, limit),
            ).fetchall()

        letters = []
        for message_id, raw, attempts, error, dead_at in await self._run(select):
            try:
                envelope = Envelope.from_json(raw)
            except ValueError:
                envelope = Envelope(
                    type="_unparseable", payload={"message_id": message_id, "raw": raw}
                )
            letters.append(
                DeadLetter(
                    envelope=envelope,
                    queue=queue,
                    attempts=attempts,
                    error=error,
                    dead_at=dt.datetime.fromtimestamp(dead_at, dt.UTC) if dead_at else None,
                )
            )
        return letters

    async def replay_dead_letters(self, queue: str) -> int:
        def replay(conn: sqlite3.Connection) -> int:
            with _tx(conn):
                cursor = conn.execute(
                    "UPDATE messages SET state = 'ready', attempts = 0, redeliveries = 0,"
                    " available_at = ?, last_error = NULL, dead_at = NULL,"
                    " lease_until = NULL, lease_owner = NULL"
                    " WHERE queue = ? AND state = 'dead'",
                    (time.time(), queue),
                )
                return cursor.rowcount

        count = await self._run(replay)
        if count and queue in self._wakeups:
            self._wakeups[queue].set()
        return count

    # -- SQL (run in a worker thread, under self._lock) -------------------------------

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, items: list[tuple[str, str, str]], now: float
    ) -> tuple[set[str], list[str]]:
        touched: set[str] = set()
        unroutable: list[str] = []
        with _tx(conn):
            bindings = conn.execute("SELECT queue, pattern FROM bindings").fetchall()
            for message_id, routing_key, body in items:
                queues = {q for q, pattern in bindings if matches(pattern, routing_key)}
                if not queues:
                    unroutable.append(routing_key)
                    continue
                conn.executemany(
                    "INSERT OR IGNORE INTO messages"
                    " (queue, message_id, envelope, available_at, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(q, message_id, body, now, now) for q in sorted(queues)],
                )
                touched |= queues
        return touched, unroutable

    def _claim(
        self, conn: sqlite3.Connection, queue: str, limit: int
    ) -> tuple[list[_Claimed], float | None]:
        now = time.time()
        claimed: list[_Claimed] = []
        with _tx(conn):
            rows = conn.execute(
                "SELECT seq, envelope, attempts, state, redeliveries FROM messages"
                " WHERE queue = ? AND ((state = 'ready' AND available_at <= ?)"
                "   OR (state = 'inflight' AND lease_until <= ?))"
                " ORDER BY seq LIMIT ?",
                (queue, now, now, limit),
            ).fetchall()
            for seq, body, attempts, state, redeliveries in rows:
                redelivered = state == "inflight"
                if redelivered and redeliveries + 1 > self.delivery_limit:
                    conn.execute(
                        "UPDATE messages SET state = 'dead', dead_at = ?, last_error = ?,"
                        " lease_until = NULL, lease_owner = NULL WHERE seq = ?",
                        (now, f"delivery limit {self.delivery_limit} exceeded", seq),
                    )
                    continue
                conn.execute(
                    "UPDATE messages SET state = 'inflight', lease_until = ?, lease_owner = ?,"
                    " redeliveries = redeliveries + ? WHERE seq = ?",
                    (now + self.lease_seconds, self._owner, int(redelivered), seq),
                )
                claimed.append(_Claimed(seq, body, attempts, redelivered))
            (next_at,) = conn.execute(
                "SELECT MIN(available_at) FROM messages WHERE queue = ? AND state = 'ready'",
                (queue,),
            ).fetchone()
        return claimed, next_at

    def _ack(self, conn: sqlite3.Connection, seq: int) -> None:
        with _tx(conn):
            cursor = conn.execute(
                "UPDATE messages SET state = 'acked', acked_at = ?, lease_until = NULL"
                " WHERE seq = ? AND state = 'inflight' AND lease_owner = ?",
                (time.time(), seq, self._owner),
            )
        if cursor.rowcount == 0:
            log.warning("embedded bus: lease of message %s was lost before its ack", seq)

    def _fail(self, conn: sqlite3.Connection, seq: int, error: str, retryable: bool) -> None:
        now = time.time()
        with _tx(conn):
            row = conn.execute(
                "SELECT attempts FROM messages"
                " WHERE seq = ? AND state = 'inflight' AND lease_owner = ?",
                (seq, self._owner),
            ).fetchone()
            if row is None:
                log.warning("embedded bus: lease of message %s was lost before its nack", seq)
                return
            attempts = row[0] + 1
            if retryable and attempts <= len(self.retry_delays_ms):
                conn.execute(
                    "UPDATE messages SET state = 'ready', attempts = ?, available_at = ?,"
                    " last_error = ?, lease_until = NULL, lease_owner = NULL WHERE seq = ?",
                    (attempts, now + self.retry_delays_ms[attempts - 1] / 1000, error, seq),
                )
            else:
                conn.execute(
                    "UPDATE messages SET state = 'dead', attempts = ?, dead_at = ?,"
                    " last_error = ?, lease_until = NULL, lease_owner = NULL WHERE seq = ?",
                    (attempts, now, error, seq),
                )

    def _renew(self, conn: sqlite3.Connection, seqs: list[int]) -> None:
        with _tx(conn):
            conn.executemany(
                "UPDATE messages SET lease_until = ?"
                " WHERE seq = ? AND state = 'inflight' AND lease_owner = ?",
                [(time.time() + self.lease_seconds, seq, self._owner) for seq in seqs],
            )

    def _release(self, conn: sqlite3.Connection) -> None:
        with _tx(conn):
            conn.execute(
                "UPDATE messages SET lease_until = 0 WHERE state = 'inflight' AND lease_owner = ?",
                (self._owner,),
            )

    @staticmethod
    def _purge(conn: sqlite3.Connection, before: float) -> int:
        with _tx(conn):
            return conn.execute(
                "DELETE FROM messages WHERE state = 'acked' AND acked_at < ?", (before,)
            ).rowcount

    # -- consuming --------------------------------------------------------------------

    async def _consume(self, queue: str, handler: Handler) -> None:
        event = self._event(queue)
        running: dict[int, asyncio.Task[None]] = {}
        renew_every = max(self.lease_seconds / 3, 0.01)
        last_renew = time.monotonic()

        def finished(seq: int, task: asyncio.Task[None]) -> None:
            running.pop(seq, None)
            if self._inflight.get(seq) is task:
                del self._inflight[seq]
            event.set()

        while not self._closed:
            try:
                event.clear()
                next_at: float | None = None
                free = self.concurrency - len(running)
                if free > 0:
                    rows, next_at = await self._run(self._claim, queue, free)
                    for row in rows:
                        task = asyncio.create_task(self._process(queue, handler, row))
                        running[row.seq] = self._inflight[row.seq] = task
                        task.add_done_callback(functools.partial(finished, row.seq))
                    if rows and len(rows) == free:
                        continue  # there may be more ready right now
                if running and time.monotonic() - last_renew >= renew_every:
                    await self._run(self._renew, list(running))
                    last_renew = time.monotonic()
                if time.time() - self._last_purge > PURGE_EVERY_SECONDS:
                    self._last_purge = time.time()
                    await self._run(self._purge, time.time() - ACKED_RETENTION_SECONDS)
                timeout = self.poll_interval
                if next_at is not None:
                    timeout = min(timeout, max(next_at - time.time(), 0.0))
                if running:
                    timeout = min(timeout, renew_every)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("embedded bus consumer of %s failed; retrying", queue)
                await asyncio.sleep(self.poll_interval)

    async def _process(self, queue: str, handler: Handler, row: _Claimed) -> None:
        try:
            envelope = Envelope.from_json(row.envelope)
        except ValueError as exc:
            log.error("embedded bus: unparseable message %s on %s", row.seq, queue)
            await self._settle(self._fail, row.seq, _error_text(exc), False)
            return
        try:
            await handler(envelope, Delivery(row.attempts + 1, row.redelivered))
        except Unprocessable as exc:
            log.warning("unprocessable %s on %s: %s", envelope.type, queue, exc)
            await self._settle(self._fail, row.seq, _error_text(exc), False)
        except Exception as exc:
            log.warning(
                "handler for %s failed on %s (attempt %d): %s",
                queue,
                envelope.type,
                row.attempts + 1,
                exc,
                exc_info=True,
            )
            await self._settle(self._fail, row.seq, _error_text(exc), True)
        else:
            await self._settle(self._ack, row.seq)

    async def _settle(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            await self._run(fn, *args)
        except BusError:
            # the row stays inflight: its lease expires and it is delivered again
            log.exception("embedded bus: could not settle message %s", args[0])


_registry: dict[Path, EmbeddedBus] = {}
_registry_lock = threading.Lock()


def get_embedded_bus(path: Path, **kwargs: Any) -> EmbeddedBus:
    """One shared :class:`EmbeddedBus` per resolved path in this process.

    ``kwargs`` apply when the instance is created; a closed instance is replaced.
    """
    key = Path(path).resolve()
    with _registry_lock:
        bus = _registry.get(key)
        if bus is None or bus.closed:
            bus = _registry[key] = EmbeddedBus(key, **kwargs)
        return bus
