"""The Bus contract, one suite for both adapters: the embedded bus (a SQLite file) and
RabbitMQ (the local broker). What only one adapter has (SQLite leases across processes,
RabbitMQ's topology and broker restarts) is in test_embedded_bus.py and
test_rabbitmq_bus.py."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import pytest

from dropship_common.messaging.bus import Bus, BusError, Delivery, Unprocessable, Unroutable
from dropship_common.messaging.embedded import EmbeddedBus
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.rabbitmq import RabbitMQBus
from dropship_testkit.bus import Recorder, envelope, eventually

URL = os.environ.get("DROPSHIP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
WAIT = 10.0
DELAYS = [50, 100]


@dataclass
class Adapter:
    name: str
    # a new bus instance (each one stands for a process): make(**kw), kw being
    # delivery_limit, one_at_a_time
    make: Callable[..., Bus]
    # a message that is no envelope at all, put on ``queue`` behind the bus's back
    inject_garbage: Callable[[Bus, str, bytes], Awaitable[None]]


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.integration)])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Adapter]:
    buses: list[Bus] = []
    cleanup: list[Callable[[], Awaitable[None]]] = []
    if request.param == "embedded":
        path = tmp_path / "bus.db"

        def make_embedded(*, delivery_limit: int = 5, one_at_a_time: bool = False) -> Bus:
            bus = EmbeddedBus(
                path,
                retry_delays_ms=DELAYS,
                delivery_limit=delivery_limit,
                poll_interval=0.05,
                **({"concurrency": 1} if one_at_a_time else {}),
            )
            buses.append(bus)
            return bus

        async def garbage_embedded(bus: Bus, queue: str, body: bytes) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute(
                    "INSERT INTO messages (queue, message_id, envelope, available_at,"
                    " created_at) VALUES (?, 'garbage-1', ?, 0, 0)",
                    (queue, body.decode()),
                )

        yield Adapter("embedded", make_embedded, garbage_embedded)
    else:
        tag = uuid.uuid4().hex[:10]
        exchange, prefix = f"test.{tag}.events", f"test.{tag}."
        probe = RabbitMQBus(URL, exchange, retry_delays_ms=DELAYS, delivery_limit=5, prefetch=1)
        try:
            await probe.connect()
        except BusError as exc:  # a broker gone is a failure, never a pass without tests
            pytest.fail(f"RabbitMQ not reachable at {URL}: {exc}")
        finally:
            await probe.close()

        def make_rabbit(*, delivery_limit: int = 5, one_at_a_time: bool = False) -> Bus:
            bus = RabbitMQBus(
                URL,
                exchange,
                queue_prefix=prefix,
                retry_delays_ms=DELAYS,
                delivery_limit=delivery_limit,
                prefetch=1 if one_at_a_time else 4,
            )
            buses.append(bus)
            return bus

        async def garbage_rabbit(bus: Bus, queue: str, body: bytes) -> None:
            assert isinstance(bus, RabbitMQBus)
            connection = await aio_pika.connect(URL)
            async with connection:
                channel = await connection.channel()
                await channel.default_exchange.publish(
                    aio_pika.Message(body, message_id="garbage-1"),
                    routing_key=bus.queue_name(queue),
                )

        async def delete_queues() -> None:
            cleaner = RabbitMQBus(
                URL,
                exchange,
                retry_delays_ms=DELAYS,
                delivery_limit=5,
                prefetch=1,
                queue_prefix=prefix,
            )
            try:
                await cleaner.connect()
                await cleaner.delete_topology(["q", "a", "b", "c"])
            finally:
                await cleaner.close()

        cleanup.append(delete_queues)
        yield Adapter("rabbitmq", make_rabbit, garbage_rabbit)
    for bus in buses:
        await bus.close()
    for step in cleanup:
        await step()


async def test_publish_confirmed_consumed_and_acked(adapter: Adapter) -> None:
    bus = adapter.make()
    await bus.connect()
    assert await bus.is_ready()
    handler = Recorder()
    await bus.subscribe("q", ["order.*"], handler)
    sent = [envelope(n=i) for i in range(3)]
    await bus.publish(sent)  # returns once the bus holds them (stored / confirmed)

    got = [await handler.next() for _ in sent]
    assert sorted((e for e, _ in got), key=lambda e: e.payload["n"]) == sent
    assert all(d == Delivery(attempt=1, redelivered=False) for _, d in got)
    await bus.close()
    assert not await bus.is_ready()

    # acked: another consumer of the queue gets only what came after
    later = adapter.make()
    again = Recorder()
    await later.subscribe("q", ["order.*"], again)
    marker = envelope("order.marker")
    await later.publish([marker])
    assert (await again.next())[0] == marker
    assert [e for e, _, _ in again.calls] == [marker]


async def test_fan_out_to_every_bound_queue_only(adapter: Adapter) -> None:
    bus = adapter.make()
    a, b, c = Recorder(), Recorder(), Recorder()
    await bus.subscribe("a", ["order.#"], a)
    await bus.subscribe("b", ["#.confirmed"], b)
    await bus.subscribe("c", ["shipment.*"], c)
    sent = envelope()
    await bus.publish([sent])
    assert (await a.next())[0] == sent
    assert (await b.next())[0] == sent
    marker = envelope("shipment.marker")
    await bus.publish([marker])
    assert [e for e, _ in [await c.next()]] == [marker]  # c saw the marker, never `sent`


async def test_unroutable_is_an_error_and_the_bus_stays_usable(adapter: Adapter) -> None:
    bus = adapter.make()
    await bus.declare("q", ["order.confirmed"])
    with pytest.raises(Unroutable):
        await bus.publish([envelope("nobody.listens")])
    assert isinstance(Unroutable("x"), BusError)
    await bus.publish([envelope("order.confirmed")])
    assert await bus.is_ready()


async def test_retry_tiers_then_success(adapter: Adapter) -> None:
    bus = adapter.make()
    handler = Recorder(fail_times=2)
    await bus.subscribe("q", ["order.confirmed"], handler)
    sent = envelope()
    await bus.publish([sent])

    got, delivery = await handler.next()
    assert got == sent and delivery.attempt == 3
    assert [d.attempt for _, d, _ in handler.calls] == [1, 2, 3]
    assert all(not d.redelivered for _, d, _ in handler.calls)
    times = [t for _, _, t in handler.calls]
    # each retry waited at least its tier's delay
    assert times[1] - times[0] >= DELAYS[0] / 1000 * 0.9
    assert times[2] - times[1] >= DELAYS[1] / 1000 * 0.9
    assert await bus.dead_letters("q") == []


async def test_dead_lettered_after_the_last_tier_listed_and_replayed(adapter: Adapter) -> None:
    bus = adapter.make()
    fixed = asyncio.Event()
    calls: list[Delivery] = []
    processed: asyncio.Queue[tuple[Envelope, Delivery]] = asyncio.Queue()

    async def handler(env: Envelope, delivery: Delivery) -> None:
        calls.append(delivery)
        if not fixed.is_set():
            raise ValueError("supplier API said no")
        await processed.put((env, delivery))

    await bus.subscribe("q", ["order.#"], handler)
    sent = envelope()
    before = time.time()
    await bus.publish([sent])

    letters = await eventually(lambda: bus.dead_letters("q"))
    assert [d.attempt for d in calls] == [1, 2, 3]  # 1 + len(DELAYS) attempts
    [letter] = letters
    assert letter.envelope == sent
    assert letter.queue == "q"
    assert letter.attempts == 3
    assert letter.error is not None and "supplier API said no" in letter.error
    assert letter.dead_at is not None and letter.dead_at.timestamp() >= before - 1
    assert len(await bus.dead_letters("q")) == 1  # listing does not consume

    fixed.set()  # the fix is deployed
    assert await bus.replay_dead_letters("q") == 1
    got, delivery = await asyncio.wait_for(processed.get(), WAIT)
    assert got == sent and delivery.attempt == 1
    assert await bus.dead_letters("q") == []
    assert await bus.replay_dead_letters("q") == 0


async def test_an_unparseable_message_goes_straight_to_dead_letters(adapter: Adapter) -> None:
    bus = adapter.make()
    handler = Recorder()
    await bus.subscribe("q", ["order.#"], handler)
    await adapter.inject_garbage(bus, "q", b"{not json")
    letters = await eventually(lambda: bus.dead_letters("q"))
    assert letters[0].envelope.type == "_unparseable"
    assert letters[0].envelope.payload["raw"] == "{not json"
    assert letters[0].attempts == 1
    assert handler.calls == []


async def test_an_unprocessable_message_is_dead_lettered_at_once(adapter: Adapter) -> None:
    """A message its consumer can never read (a major version it does not know, a
    payload its contract rejects) skips the retry tiers."""
    bus = adapter.make()
    calls: list[Delivery] = []

    async def refuses(env: Envelope, delivery: Delivery) -> None:
        calls.append(delivery)
        raise Unprocessable("unsupported version 2 of order.confirmed (this consumer reads 1.x)")

    await bus.subscribe("q", ["order.#"], refuses)
    sent = envelope()
    await bus.publish([sent])
    [letter] = await eventually(lambda: bus.dead_letters("q"))
    assert letter.envelope == sent and letter.attempts == 1
    assert letter.error == (
        "Unprocessable: unsupported version 2 of order.confirmed (this consumer reads 1.x)"
    )
    assert [d.attempt for d in calls] == [1]


async def test_acked_only_after_the_handler_returned(adapter: Adapter) -> None:
    """A consumer that stops while its handler is still running (the handler's
    transaction not committed) leaves the message to be delivered again."""
    first = adapter.make()
    started = asyncio.Event()

    async def stuck(env: Envelope, delivery: Delivery) -> None:
        started.set()
        await asyncio.Event().wait()

    await first.subscribe("q", ["order.#"], stuck)
    sent = envelope()
    await first.publish([sent])
    await asyncio.wait_for(started.wait(), WAIT)
    await first.close()  # the "process" stops while the handler is awaiting

    second = adapter.make()
    handler = Recorder()
    await second.subscribe("q", ["order.#"], handler)
    got, delivery = await handler.next()
    assert got == sent
    assert delivery == Delivery(attempt=1, redelivered=True)


async def test_a_message_that_keeps_crashing_its_consumer_is_dead_lettered(
    adapter: Adapter,
) -> None:
    """Beyond ``delivery_limit`` redeliveries the message goes to the dead letters
    instead of to a consumer again."""
    sent = envelope()
    seen: list[Delivery] = []
    for i in range(2):
        bus = adapter.make(delivery_limit=1)
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
        await asyncio.wait_for(started.wait(), WAIT)
        await bus.close()
    last = adapter.make(delivery_limit=1)
    handler = Recorder()
    await last.subscribe("q", ["order.#"], handler)
    letters = await eventually(lambda: last.dead_letters("q"))
    assert [d.redelivered for d in seen] == [False, True]
    assert letters[0].envelope == sent
    assert letters[0].error is not None and "delivery limit" in letters[0].error
    assert handler.calls == []


async def test_one_consumer_taking_one_at_a_time_sees_publish_order(adapter: Adapter) -> None:
    """The ordering the bus promises: a queue's messages reach a consumer that takes one
    at a time in the order they were published (the outbox relay publishes each
    order's events in the order they were written)."""
    bus = adapter.make(one_at_a_time=True)
    handler = Recorder()
    await bus.declare("q", ["order.#"])
    sent = [envelope(n=i) for i in range(10)]
    for one in sent:
        await bus.publish([one])
    await bus.subscribe("q", ["order.#"], handler)
    got = [(await handler.next())[0] for _ in sent]
    assert got == sent


async def test_messages_outlive_the_bus_instance_that_published_them(adapter: Adapter) -> None:
    """Published with no consumer running, the publisher gone: a consumer started later
    gets every message (durable queue, persistent messages / a file)."""
    publisher = adapter.make()
    await publisher.declare("q", ["order.#"])
    sent = [envelope(n=i) for i in range(3)]
    await publisher.publish(sent)
    await publisher.close()

    consumer = adapter.make()
    handler = Recorder()
    await consumer.subscribe("q", ["order.#"], handler)
    got = sorted([(await handler.next())[0] for _ in sent], key=lambda e: e.payload["n"])
    assert got == sent
