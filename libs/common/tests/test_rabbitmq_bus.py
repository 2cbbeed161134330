"""What only the RabbitMQ adapter has, against the local broker: its topology (quorum
queues, delay tiers, dlq), durability settings, outages and broker restarts. The Bus
contract itself is test_bus_conformance.py, shared with the embedded bus."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest

from dropship_common.messaging.bus import BusError, Delivery
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.rabbitmq import RabbitMQBus, retry_tier_arguments
from dropship_testkit.bus import Recorder, envelope, eventually
from dropship_testkit.private_infra import private_rabbit

pytestmark = pytest.mark.integration

URL = os.environ.get("DROPSHIP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
WAIT = 10.0
DELAYS = [50, 100]

BusFactory = Callable[..., RabbitMQBus]


@pytest.fixture
async def topology() -> AsyncIterator[tuple[str, str, list[str]]]:
    """A unique exchange and queue prefix; the queues a test names are deleted after it."""
    tag = uuid.uuid4().hex[:10]
    queues: list[str] = []
    exchange, prefix = f"test.{tag}.events", f"test.{tag}."
    yield exchange, prefix, queues
    cleaner = RabbitMQBus(
        URL, exchange, retry_delays_ms=DELAYS, delivery_limit=5, prefetch=1, queue_prefix=prefix
    )
    try:
        await cleaner.connect()
        await cleaner.delete_topology(queues)
    finally:
        await cleaner.close()


@pytest.fixture
async def make(topology: tuple[str, str, list[str]]) -> AsyncIterator[BusFactory]:
    exchange, prefix, queues = topology
    buses: list[RabbitMQBus] = []
    probe = RabbitMQBus(URL, exchange, retry_delays_ms=DELAYS, delivery_limit=5, prefetch=1)
    try:
        await probe.connect()
    except BusError as exc:
        # make test starts the broker or stops with a clear message: a broker gone
        # now is a failure, not a reason to pass without these tests
        pytest.fail(f"RabbitMQ not reachable at {URL}: {exc}")
    finally:
        await probe.close()

    def factory(*queue_names: str, **kw: Any) -> RabbitMQBus:
        queues.extend(q for q in queue_names if q not in queues)
        kw.setdefault("retry_delays_ms", DELAYS)
        kw.setdefault("delivery_limit", 5)
        kw.setdefault("prefetch", 4)
        bus = RabbitMQBus(URL, exchange, queue_prefix=prefix, **kw)
        buses.append(bus)
        return bus

    yield factory
    for bus in buses:
        await bus.close()


async def ready_count(bus: RabbitMQBus, full_name: str) -> int:
    """Messages ready in a queue (passive declare on a throwaway connection)."""
    connection = await aio_pika.connect(bus.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(full_name, passive=True)
        return queue.declaration_result.message_count or 0


async def test_declared_topology(make: BusFactory) -> None:
    bus = make("q")
    await bus.declare("q", ["order.#"])
    for name in bus.all_queue_names("q"):
        assert await ready_count(bus, name) == 0  # exists (passive declare succeeds)
    assert bus.all_queue_names("q") == [
        bus.queue_name("q"),
        bus.queue_name("q") + ".retry.quorum.50ms",
        bus.queue_name("q") + ".retry.quorum.100ms",
        bus.queue_name("q") + ".dlq",
    ]
    await bus.declare("q", ["order.#"])  # idempotent
    await bus.publish([envelope("order.anything.at.all")])
    assert await eventually(lambda: ready_count(bus, bus.queue_name("q"))) == 1


async def test_queues_are_durable_and_messages_persistent(make: BusFactory) -> None:
    """What survives a broker restart: a durable queue holding persistent messages."""
    import aio_pika
    import aiormq

    bus = make("q")
    await bus.declare("q", ["order.#"])
    await bus.publish([envelope("order.kept")])
    assert await eventually(lambda: ready_count(bus, bus.queue_name("q"))) == 1
    connection = await aio_pika.connect(URL)
    try:
        channel = await connection.channel()
        message = await (await channel.get_queue(bus.queue_name("q"))).get(timeout=WAIT)
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.message_id and message.type == "order.kept"
        await message.reject(requeue=True)
        main, dlq = bus.queue_name("q"), bus.dlq_name("q")
        # the main queue is a quorum queue (always durable): redeclaring it as one with
        # the same arguments is accepted
        await (await connection.channel()).declare_queue(
            main,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": 5,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dlq,
            },
        )
        # the others: the broker refuses to redeclare them as transient
        # the retry tiers are quorum queues too, dead-lettering at least once
        for ms in DELAYS:
            await (await connection.channel()).declare_queue(
                bus.retry_name("q", ms), durable=True, arguments=retry_tier_arguments(main, ms)
            )
        # the dlq: the broker refuses to redeclare it as transient
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
            probe = await connection.channel()
            await probe.declare_queue(dlq, durable=False)
    finally:
        await connection.close()


async def test_dead_letters_lists_many_and_loses_none(make: BusFactory) -> None:
    bus = make("q")

    async def always_fails(env: Envelope, delivery: Delivery) -> None:
        raise RuntimeError("nope")

    await bus.subscribe("q", ["order.#"], always_fails)
    sent = [envelope(n=i) for i in range(5)]
    await bus.publish(sent)
    await eventually(lambda: _has(bus, "q", 5))
    first = await bus.dead_letters("q", limit=2)
    assert len(first) == 2
    everything = await bus.dead_letters("q")
    assert sorted(d.envelope.payload["n"] for d in everything) == [0, 1, 2, 3, 4]
    assert await ready_count(bus, bus.dlq_name("q")) == 5


async def _has(bus: RabbitMQBus, queue: str, n: int) -> bool:
    return len(await bus.dead_letters(queue)) == n


async def test_closed_port_raises_bus_error_quickly() -> None:
    bus = RabbitMQBus(
        "amqp://guest:guest@127.0.0.1:5999/",
        "never.used",
        retry_delays_ms=DELAYS,
        delivery_limit=5,
        prefetch=1,
    )
    started = time.monotonic()
    with pytest.raises(BusError):
        await bus.publish([envelope()])
    with pytest.raises(BusError):
        await bus.connect()
    assert time.monotonic() - started < 5
    assert not await bus.is_ready()
    await bus.close()


class TcpProxy:
    """Forwards a local port to the broker; ``cut`` simulates the broker going away."""

    def __init__(self, target_port: int = 5672) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def test_broker_outage_publish_fails_fast_then_consumer_resumes(
    make: BusFactory, topology: tuple[str, str, list[str]]
) -> None:
    exchange, prefix, queues = topology
    queues.append("q")
    proxy = TcpProxy()
    await proxy.start()
    bus = RabbitMQBus(
        f"amqp://guest:guest@127.0.0.1:{proxy.port}/?reconnect_interval=0.2",
        exchange,
        retry_delays_ms=DELAYS,
        delivery_limit=5,
        prefetch=4,
        queue_prefix=prefix,
        publish_timeout=2.0,
    )
    try:
        handler = Recorder()
        await bus.subscribe("q", ["order.#"], handler)
        before = envelope(n=0)
        await bus.publish([before])
        assert (await handler.next())[0] == before

        await proxy.cut()  # the broker is unreachable
        started = time.monotonic()
        with pytest.raises(BusError):
            await bus.publish([envelope(n=1)])
        assert time.monotonic() - started < 4
        assert not await bus.is_ready()

        await proxy.start()  # back on the same port: the robust connection reconnects
        await eventually(bus.is_ready)
        after = envelope(n=2)

        async def publish_ok() -> bool:
            try:
                await bus.publish([after])
            except BusError:
                return False
            return True

        await eventually(publish_ok)
        # the restored consumer gets it; ``before`` may come again first, if its ack was
        # still on the wire when the connection was cut (at-least-once)
        got, delivery = await handler.next()
        while got == before:
            assert delivery.redelivered
            got, delivery = await handler.next()
        assert got == after
    finally:
        await bus.close()
        if proxy.server is not None:
            await proxy.cut()


async def test_a_message_waiting_in_a_retry_tier_survives_a_broker_restart() -> None:
    """A handler failed; its message waits in a retry tier; the node restarts and the
    delay runs out while it is down: the message still comes back to the main queue
    (a classic TTL queue dead-letters what expired meanwhile at most once: into nothing
    while the main queue is not up yet). On a node of the test's own: the shared one is
    never restarted."""
    async with private_rabbit() as mq:
        recorder = Recorder(fail_times=1)

        def bus() -> RabbitMQBus:
            return RabbitMQBus(
                mq.url, "events", retry_delays_ms=[2000], delivery_limit=5, prefetch=1
            )

        first = bus()
        await first.connect()
        await first.subscribe("q", ["order.#"], recorder)
        await first.publish([envelope("order.retried")])
        tier = first.retry_name("q", 2000)
        assert await eventually(lambda: ready_count(first, tier)) == 1
        await first.close()
        await mq.restart(down_seconds=3.0)  # the 2 s delay is over before it is back

        second = bus()
        try:
            await second.connect()
            await second.subscribe("q", ["order.#"], recorder)
            env, delivery = await asyncio.wait_for(recorder.done.get(), 30)
        finally:
            await second.close()
        assert env.type == "order.retried" and delivery.attempt == 2
