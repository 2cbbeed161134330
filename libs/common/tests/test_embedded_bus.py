"""The embedded (SQLite) bus honours the Bus contract, also across processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from dropship_common.messaging.bus import BusError, Delivery, Unprocessable, Unroutable
from dropship_common.messaging.embedded import EmbeddedBus, get_embedded_bus
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.factory import make_bus
from dropship_common.settings import Settings

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


def envelope(type_: str = "order.confirmed", **payload: Any) -> Envelope:
    return Envelope(type=type_, correlation_id="order-1", payload=payload or {"n": 1})


def rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


async def eventually(check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


class Recorder:
    """A handler that records deliveries; ``fail_times`` failures first."""

    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.calls: list[tuple[Envelope, Delivery, float]] = []
        self.done: asyncio.Queue[tuple[Envelope, Delivery]] = asyncio.Queue()

    async def __call__(self, env: Envelope, delivery: Delivery) -> None:
        self.calls.append((env, delivery, time.monotonic()))
        if len(self.calls) <= self.fail_times:
            raise RuntimeError(f"boom {len(self.calls)}")
        await self.done.put((env, delivery))

    async def next(self) -> tuple[Envelope, Delivery]:
        return await asyncio.wait_for(self.done.get(), WAIT)


async def test_publish_consume_ack(make: BusFactory, bus_path: Path) -> None:
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


async def test_fan_out_to_every_bound_queue_only(make: BusFactory, bus_path: Path) -> None:
    bus = make()
    a, b, c = Recorder(), Recorder(), Recorder()
    await bus.subscribe("a", ["order.#"], a)
    await bus.subscribe("b", ["#.confirmed"], b)
    await bus.subscribe("c", ["shipment.*"], c)
    sent = envelope()
    await bus.publish([sent])
    assert (await a.next())[0] == sent
    assert (await b.next())[0] == sent
    queues = rows(bus_path, "SELECT queue FROM messages WHERE message_id = ?", str(sent.id))
    assert sorted(q for (q,) in queues) == ["a", "b"]
    assert c.calls == []


async def test_unroutable(make: BusFactory, bus_path: Path) -> None:
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


async def test_retry_with_growing_attempts_then_success(make: BusFactory) -> None:
    bus = make()
    handler = Recorder(fail_times=2)
    await bus.subscribe("q", ["order.confirmed"], handler)
    sent = envelope()
    await bus.publish([sent])

    got, _ = await handler.next()
    assert got == sent
    assert [d.attempt for _, d, _ in handler.calls] == [1, 2, 3]
    assert all(not d.redelivered for _, d, _ in handler.calls)
    times = [t for _, _, t in handler.calls]
    # each retry waited at least its tier's delay
    assert times[1] - times[0] >= DELAYS[0] / 1000 * 0.9
    assert times[2] - times[1] >= DELAYS[1] / 1000 * 0.9
    assert await bus.dead_letters("q") == []


async def test_dead_letter_inspect_and_replay(make: BusFactory, bus_path: Path) -> None:
    bus = make()
    failing = asyncio.Event()
    calls: list[Delivery] = []
    processed: asyncio.Queue[Delivery] = asyncio.Queue()

    async def handler(env: Envelope, delivery: Delivery) -> None:
        calls.append(delivery)
        if not failing.is_set():
            raise ValueError("supplier API said no")
        await processed.put(delivery)

    await bus.subscribe("q", ["order.#"], handler)
    sent = envelope()
    before = time.time()
    await bus.publish([sent])

    deadline = time.monotonic() + WAIT
    while not (letters := await bus.dead_letters("q")):
        assert time.monotonic() < deadline, "message never dead-lettered"
        await asyncio.sleep(0.02)
    assert [d.attempt for d in calls] == [1, 2, 3]  # 1 + len(DELAYS) attempts
    [letter] = letters
    assert letter.envelope == sent
    assert letter.queue == "q"
    assert letter.attempts == 3
    assert letter.error is not None and "supplier API said no" in letter.error
    assert letter.dead_at is not None and letter.dead_at.timestamp() >= before - 1
    # listing does not consume
    assert len(await bus.dead_letters("q")) == 1

    failing.set()  # the fix is deployed
    assert await bus.replay_dead_letters("q") == 1
    delivery = await asyncio.wait_for(processed.get(), WAIT)
    assert delivery.attempt == 1
    assert await bus.dead_letters("q") == []
    assert await bus.replay_dead_letters("q") == 0
    await eventually(
        lambda: rows(bus_path, "SELECT state FROM messages") == [("acked",)],
    )


async def test_unparseable_message_goes_straight_to_dead_letters(
    make: BusFactory, bus_path: Path
) -> None:
    bus = make()
    handler = Recorder()
    await bus.subscribe("q", ["order.#"], handler)
    with sqlite3.connect(bus_path) as conn:
        conn.execute(
            "INSERT INTO messages (queue, message_id, envelope, available_at, created_at)"
            " VALUES ('q', 'garbage-1', '{not json', 0, 0)"
        )
    deadline = time.monotonic() + WAIT
    while not (letters := await bus.dead_letters("q")):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert letters[0].envelope.payload["raw"] == "{not json"
    assert letters[0].attempts == 1
    assert handler.calls == []


async def test_unprocessable_message_is_dead_lettered_at_once(make: BusFactory) -> None:
    bus = make()
    calls: list[Delivery] = []

    async def refuses(env: Envelope, delivery: Delivery) -> None:
        calls.append(delivery)
        raise Unprocessable("unsupported version 2 of order.confirmed (this consumer reads 1.x)")

    await bus.subscribe("q", ["order.#"], refuses)
    sent = envelope()
    await bus.publish([sent])
    deadline = time.monotonic() + WAIT
    while not (letters := await bus.dead_letters("q")):
        assert time.monotonic() < deadline, "message never dead-lettered"
        await asyncio.sleep(0.02)
    [letter] = letters
    assert letter.envelope == sent and letter.attempts == 1
    assert letter.error == (
        "Unprocessable: unsupported version 2 of order.confirmed (this consumer reads 1.x)"
    )
    assert [d.attempt for d in calls] == [1]  # never retried


async def test_consumer_closed_mid_message_is_redelivered(make: BusFactory) -> None:
    first = make()
    started = asyncio.Event()
    never = asyncio.Event()

    async def stuck(env: Envelope, delivery: Delivery) -> None:
        started.set()
        await never.wait()

    await first.subscribe("q", ["order.#"], stuck)
    sent = envelope()
    await first.publish([sent])
    await asyncio.wait_for(started.wait(), WAIT)
    await first.close()  # the "process" stops while the handler is awaiting

    second = make()
    handler = Recorder()
    await second.subscribe("q", ["order.#"], handler)
    got, delivery = await handler.next()
    assert got == sent
    assert delivery == Delivery(attempt=1, redelivered=True)


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


async def test_poison_message_exceeding_delivery_limit_is_dead(make: BusFactory) -> None:
    """A message whose consumer keeps dying is dead-lettered after ``delivery_limit``."""
    sent = envelope()
    seen: list[Delivery] = []
    for i in range(3):
        bus = make(delivery_limit=1)
        started = asyncio.Event()

        async def crashy(
            env: Envelope, delivery: Delivery, started: asyncio.Event = started
        ) -> None:
            seen.append(delivery)
            started.set()
            await asyncio.Event().wait()

        await bus.subscribe("q", ["order.#"], crashy)
        if i == 0:
            await bus.publish([sent])
        if i < 2:
            await asyncio.wait_for(started.wait(), WAIT)
            await bus.close()
    # first delivery + 1 redelivery allowed; the third claim dead-letters it instead
    deadline = time.monotonic() + WAIT
    while not (letters := await bus.dead_letters("q")):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert [d.redelivered for d in seen] == [False, True]
    assert letters[0].envelope == sent
    assert letters[0].error is not None and "delivery limit" in letters[0].error


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
