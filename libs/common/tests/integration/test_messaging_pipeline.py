"""Outbox, relay, inbox, retries and dead letters on real PostgreSQL + RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import Field

from dropship_common.contracts import Event
from dropship_common.db import Database
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.handlers import Handlers, MessageContext
from dropship_common.messaging.outbox import Outbox, OutboxRelay
from dropship_common.messaging.rabbitmq import RabbitMQBus
from dropship_common.observability import MESSAGES_CONSUMED
from dropship_common.parked import park
from dropship_common.runtime import ServiceSpec
from dropship_testkit.private_infra import PrivateRabbit, private_rabbit
from dropship_testkit.tap import EventTap, eventually
from supplier_gateway.models import common, parked_events

pytestmark = pytest.mark.integration


class Happened(Event):
    TYPE = "test.happened"

    n: int = Field(description="which one")


def event(n: int = 0) -> Envelope:
    return Envelope(type="test.happened", correlation_id=f"c-{n}", payload={"n": n})


@pytest.fixture
async def db(databases) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(await databases.new("supplier-gateway"))
    yield database
    await database.dispose()


@contextlib.asynccontextmanager
async def connected_bus(amqp_url: str) -> AsyncIterator[RabbitMQBus]:
    b = RabbitMQBus(
        amqp_url,
        f"test.{uuid.uuid4().hex[:8]}",
        retry_delays_ms=[50, 100],
        delivery_limit=10,
        prefetch=20,
    )
    await b.connect()
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
async def bus(amqp_url: str) -> AsyncIterator[RabbitMQBus]:
    async with connected_bus(amqp_url) as b:
        yield b


@pytest.fixture
async def mq() -> AsyncIterator[PrivateRabbit]:
    """A node of the test's own: stopping the shared one would fail the tests running
    in the other process."""
    async with private_rabbit() as node:
        yield node


async def outbox_rows(db: Database) -> list[Any]:
    async with db.sessions() as s:
        return list((await s.execute(sa.select(common.outbox))).all())


async def test_rolled_back_transaction_publishes_nothing(db: Database, bus: RabbitMQBus) -> None:
    tap = await EventTap(bus).start(["test.#"])
    outbox = Outbox(common.outbox)
    relay = OutboxRelay("t", db, common.outbox, bus)
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            await outbox.add(s, [event(1)])
            raise RuntimeError("the state change failed")
    kept = event(2)
    async with db.transaction() as s:
        await outbox.add(s, [kept])
    assert await relay.publish_pending() == 1
    await tap.wait_for("test.happened")
    assert [e.id for e in tap.received] == [kept.id]
    [row] = await outbox_rows(db)
    assert row.id == kept.id and row.published_at is not None
    assert await relay.publish_pending() == 0


async def test_an_orders_events_written_together_go_out_in_the_order_written(
    db: Database, bus: RabbitMQBus
) -> None:
    tap = await EventTap(bus).start(["test.#"])
    steps = [
        Envelope(type="test.happened", correlation_id="order-1", payload={"step": n})
        for n in range(12)
    ]
    async with db.transaction() as s:  # one statement, one instant: a batch's events
        await Outbox(common.outbox).add(s, steps)
    # the relay orders by created_at: equal instants would leave the order to the
    # database's sort, which promises none
    rows = sorted(await outbox_rows(db), key=lambda r: r.created_at)
    assert [r.envelope["payload"]["step"] for r in rows] == list(range(12))
    assert len({r.created_at for r in rows}) == 12
    assert await OutboxRelay("t", db, common.outbox, bus).publish_pending() == 12
    await tap.wait_for("test.happened", count=12)
    assert [e.payload["step"] for e in tap.received] == list(range(12))


async def test_unroutable_event_stays_in_outbox_until_a_queue_is_bound(
    db: Database, bus: RabbitMQBus
) -> None:
    relay = OutboxRelay("t", db, common.outbox, bus, max_backoff_seconds=0.01)
    env = event(3)
    async with db.transaction() as s:
        await Outbox(common.outbox).add(s, [env])
    assert await relay.publish_pending() == 0
    [row] = await outbox_rows(db)
    assert row.published_at is None and row.attempts == 1 and "Unroutable" in row.last_error
    tap = await EventTap(bus).start(["test.happened"])
    await eventually(relay.publish_pending, timeout=5)
    await tap.wait_for("test.happened")
    assert tap.received[0].id == env.id


async def test_relay_survives_a_broker_restart(db: Database, mq: PrivateRabbit) -> None:
    async with connected_bus(mq.url) as bus:
        await _relay_survives_a_broker_restart(db, bus, mq)


async def _relay_survives_a_broker_restart(
    db: Database, bus: RabbitMQBus, mq: PrivateRabbit
) -> None:
    tap = await EventTap(bus).start(["test.#"])
    relay = OutboxRelay("t", db, common.outbox, bus, poll_seconds=0.2, max_backoff_seconds=0.5)
    relay.start()
    try:
        await mq.stop_app()
        try:
            async with db.transaction() as s:
                await Outbox(common.outbox).add(s, [event(i) for i in range(5)])

            async def broker_gone() -> bool:
                return not await bus.is_ready()

            await eventually(broker_gone, timeout=20)
            assert await relay.publish_pending() == 0
            rows = await outbox_rows(db)
            assert len(rows) == 5 and all(r.published_at is None for r in rows)
        finally:
            await mq.start_app()
        await tap.wait_for("test.happened", count=5, timeout=60)
        assert sorted(e.payload["n"] for e in tap.received) == [0, 1, 2, 3, 4]

        async def all_marked() -> bool:
            return all(r.published_at is not None for r in await outbox_rows(db))

        await eventually(all_marked, timeout=10)
    finally:
        await relay.stop()


async def test_inbox_drops_a_redelivery(start_service, databases) -> None:  # type: ignore[no-untyped-def]
    registry = Handlers("supplier-gateway")
    registry.parks(parked_events, [Happened])
    spec = ServiceSpec(name="supplier-gateway", title="t", tables=common, handlers=registry)
    svc = await start_service(spec)
    env = event(7)
    # the broker delivers the same message twice (a redelivery after a lost ack)
    await svc.runtime.bus.publish([env])
    await svc.runtime.bus.publish([env])

    async def inbox_count() -> int:
        async with svc.runtime.db.sessions() as s:
            return int(await s.scalar(sa.select(sa.func.count()).select_from(common.inbox)) or 0)

    await eventually(inbox_count)
    await eventually(
        lambda: _value(MESSAGES_CONSUMED, "supplier-gateway", "test.happened", "duplicate")
    )
    async with svc.runtime.db.sessions() as s:
        parked = (await s.execute(sa.select(parked_events.c.message_id))).scalars().all()
    assert parked == [env.id]


async def _value(counter: Any, *labels: str) -> float:
    return float(counter.labels(*labels)._value.get())


async def test_failing_handler_retried_dead_lettered_then_replayed(start_service) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    fixed = False

    registry = Handlers("supplier-gateway")

    @registry.handles(Happened)
    async def flaky(event: Happened, ctx: MessageContext) -> None:
        calls.append(event.n)
        if not fixed:
            raise ValueError("supplier catalogue missing")
        await park(parked_events, ctx.session, ctx.envelope)

    spec = ServiceSpec(name="supplier-gateway", title="t", tables=common, handlers=registry)
    svc = await start_service(spec)
    env = event(9)
    await svc.runtime.bus.publish([env])

    async def dead() -> list[Any]:
        r = await svc.client.get("/v1/dead-letters", headers=svc.admin_headers)
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]

    [letter] = await eventually(dead)
    assert letter["id"] == str(env.id)
    assert "supplier catalogue missing" in letter["error"]
    assert letter["attempts"] == 3  # first try + two retries (delays 50 ms, 100 ms)
    assert calls == [9, 9, 9]
    # the operator fixes the cause and replays
    fixed = True
    r = await svc.client.post("/v1/dead-letters/replay", headers=svc.admin_headers)
    assert r.status_code == 200 and r.json() == {"replayed": 1}

    async def parked() -> list[Any]:
        async with svc.runtime.db.sessions() as s:
            return list((await s.execute(sa.select(parked_events.c.message_id))).scalars())

    assert await eventually(parked) == [env.id]
    assert await dead() == []
    # operators only
    r = await svc.client.get("/v1/dead-letters")
    assert r.status_code == 401


async def test_metrics_show_pending_outbox_events(db: Database, bus: RabbitMQBus) -> None:
    relay = OutboxRelay("metrics-test", db, common.outbox, bus)
    async with db.transaction() as s:
        await Outbox(common.outbox).add(s, [event(1), event(2)])
    assert await relay.pending_count() == 2
    from prometheus_client import generate_latest

    assert 'outbox_pending{service="metrics-test"} 2.0' in generate_latest().decode()


async def test_a_worker_that_does_not_stop_does_not_hold_the_shutdown(
    start_service, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Each step of a service's shutdown is bounded: a background task that swallows its
    cancellation is left behind (and logged), the bus and the database still close."""
    from dropship_common import runtime as runtime_module

    monkeypatch.setattr(runtime_module, "STOP_STEP_SECONDS", 0.3)
    started = asyncio.Event()
    stubborn: list[asyncio.Task[Any]] = []

    async def stubborn_worker(rt: Any) -> None:
        stubborn.append(asyncio.current_task())  # type: ignore[arg-type]
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.Event().wait()  # ignores the first cancellation

    spec = ServiceSpec(
        name="supplier-gateway", title="t", tables=common, workers=(stubborn_worker,)
    )
    svc = await start_service(spec)
    await asyncio.wait_for(started.wait(), 5)
    t0 = time.monotonic()
    await svc.runtime.stop()
    assert time.monotonic() - t0 < 5
    assert not await svc.runtime.bus.is_ready()  # the bus closed after the stuck step
    assert not stubborn[0].done()
    stubborn[0].cancel()  # the second cancellation ends it
