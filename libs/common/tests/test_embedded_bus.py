"""What only the embedded (SQLite) bus has: rows in a WAL file, leases across processes,
one row per (queue, message id), concurrency. The Bus contract itself is
test_bus_conformance.py, shared with RabbitMQ."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from dropship_common.messaging.bus import BusError, Delivery, Unroutable
from dropship_common.messaging.embedded import EmbeddedBus, get_embedded_bus
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.factory import make_bus
from dropship_common.settings import Settings
from dropship_testkit.bus import Recorder, envelope, eventually

WAIT = 5.0
DELAYS = [50, 100]

BusFactory = Callable[..., EmbeddedBus]


@pytest.fixture
def bus_path(tmp_path: Path) -> Path:
    return tmp_path / "bus.db"


@pytest.fixture
async def make(bus_path: Path) -> AsyncIterator[BusFactory]:
    """Open EmbeddedBus instances on ``bus_path`` (each one stands for a process)."""
    buses: list[EmbeddedBus] = []

    def factory(**kw: Any) -> EmbeddedBus:
        kw.setdefault("retry_delays_ms", DELAYS)
        kw.setdefault("delivery_limit", 5)
        kw.setdefault("poll_interval", 0.05)
        bus = EmbeddedBus(bus_path, **kw)
        buses.append(bus)
        return bus

    yield factory
    for bus in buses:
        await bus.close()


def rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


async def test_an_acked_message_is_marked_in_a_wal_file(make: BusFactory, bus_path: Path) -> None:
    bus = make()
    await bus.connect()
    assert await bus.is_ready()
    handler = Recorder()
    await bus.subscribe("logistics", ["order.*"], handler)
    sent = envelope(sku="A-1")
    await bus.publish([sent])

    got, delivery = await handler.next()
    assert got == sent
    assert delivery == Delivery(attempt=1, redelivered=False)
    await eventually(
        lambda: (
            rows(bus_path, "SELECT state FROM messages WHERE message_id = ?", str(sent.id))
            == [("acked",)]
        )
    )
    # the file is in WAL mode (several processes share it)
    assert rows(bus_path, "PRAGMA journal_mode") == [("wal",)]
    await bus.close()
    assert not await bus.is_ready()


async def test_a_batch_stores_the_routable_and_reports_the_rest(
    make: BusFactory, bus_path: Path
) -> None:
    bus = make()
    await bus.declare("logistics", ["order.confirmed"])
    with pytest.raises(Unroutable):
        await bus.publish([envelope("nobody.listens")])
    # a batch stores what is routable and still reports the rest
    routable, lost = envelope(), envelope("nobody.listens")
    with pytest.raises(Unroutable, match=r"nobody\.listens"):
        await bus.publish([routable, lost])
    stored = rows(bus_path, "SELECT message_id FROM messages")
    assert stored == [(str(routable.id),)]
    assert isinstance(Unroutable("x"), BusError)


async def test_killed_process_message_redelivered_after_lease(
    make: BusFactory, bus_path: Path
) -> None:
    """A consumer process killed with SIGKILL: its lease expires, the message comes back."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from dropship_common.messaging.embedded import EmbeddedBus

        async def main():
            bus = EmbeddedBus(Path({str(bus_path)!r}), retry_delays_ms=[50],
                              poll_interval=0.05, lease_seconds=1.0)
            async def handler(env, delivery):
                print("started", env.id, flush=True)
                await asyncio.Event().wait()
            await bus.subscribe("q", ["order.#"], handler)
            print("ready", flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        publisher = make()
        sent = envelope()
        await publisher.publish([sent])
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), WAIT)
        assert line.split() == ["started", str(sent.id)]
    finally:
        proc.kill()
        proc.wait()

    consumer = make(lease_seconds=1.0)
    handler = Recorder()
    await consumer.subscribe("q", ["order.#"], handler)
    got, delivery = await handler.next()
    assert got == sent
    assert delivery == Delivery(attempt=1, redelivered=True)


async def test_same_envelope_published_twice_is_delivered_once(
    make: BusFactory, bus_path: Path
) -> None:
    bus = make(concurrency=1)
    handler = Recorder()
    await bus.subscribe("q", ["order.#"], handler)
    dup = envelope()
    await bus.publish([dup, dup])  # twice in one batch
    await bus.publish([dup])  # and again (an outbox relay that crashed before marking)
    marker = envelope("order.marker")
    await bus.publish([marker])
    got = [(await handler.next())[0], (await handler.next())[0]]
    assert got == [dup, marker]  # in order, and the duplicate not at all
    await eventually(lambda: rows(bus_path, "SELECT COUNT(*) FROM messages") == [(2,)])
    assert [e.id for e, _, _ in handler.calls] == [dup.id, marker.id]


async def test_two_instances_on_one_file(make: BusFactory, bus_path: Path) -> None:
    """One 'process' consumes, another publishes into the same file."""
    consumer_process = make()
    publisher_process = make()
    handler = Recorder()
    await consumer_process.subscribe("aftersales", ["order.confirmed"], handler)
    sent = [envelope(n=i) for i in range(5)]
    await publisher_process.publish(sent)  # sees the binding made by the other instance
    got = sorted([(await handler.next())[0] for _ in sent], key=lambda e: e.payload["n"])
    assert got == sent


async def test_handlers_run_concurrently_up_to_limit(make: BusFactory) -> None:
    bus = make(concurrency=3)
    active = 0
    peak = 0
    release = asyncio.Event()
    started: asyncio.Queue[int] = asyncio.Queue()
    done: asyncio.Queue[int] = asyncio.Queue()

    async def handler(env: Envelope, delivery: Delivery) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await started.put(env.payload["n"])
        await release.wait()
        active -= 1
        await done.put(env.payload["n"])

    await bus.subscribe("q", ["order.#"], handler)
    await bus.publish([envelope(n=i) for i in range(5)])
    first = [await asyncio.wait_for(started.get(), WAIT) for _ in range(3)]
    assert sorted(first) == [0, 1, 2]  # claimed in publish order
    assert started.empty()
    release.set()
    finished = sorted([await asyncio.wait_for(done.get(), WAIT) for _ in range(5)])
    assert finished == [0, 1, 2, 3, 4]
    assert peak == 3


async def test_registry_and_factory(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "bus.db"
    a = get_embedded_bus(path, retry_delays_ms=DELAYS)
    b = get_embedded_bus(tmp_path / "shared" / ".." / "shared" / "bus.db", retry_delays_ms=[1])
    assert a is b
    settings = Settings(bus_url=f"embedded://{path}")
    assert make_bus(settings) is a
    await a.connect()
    assert await a.is_ready()
    await a.close()
    c = get_embedded_bus(path, retry_delays_ms=DELAYS)
    assert c is not a  # a closed instance is replaced

    amqp = make_bus(
        Settings(bus_url="amqp://guest:guest@127.0.0.1:5672/", queue_prefix="p.", prefetch=7)
    )
    from dropship_common.messaging.rabbitmq import RabbitMQBus

    assert isinstance(amqp, RabbitMQBus)
    assert amqp.queue_prefix == "p."
    assert amqp.prefetch == 7
    with pytest.raises(ValueError, match="unsupported"):
        make_bus(Settings(bus_url="kafka://x"))
    assert uuid.UUID(str(envelope().id))
