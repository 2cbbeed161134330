"""Handlers registered by contract model: the registry resolves an envelope by type and
major version to its handler with the parsed event; through the embedded bus and the
consumer, an unsupported version or an invalid payload is dead-lettered at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import Field

from dropship_common.contracts import Event
from dropship_common.db import Database
from dropship_common.messaging.bus import DeadLetter
from dropship_common.messaging.consumer import MessageConsumer
from dropship_common.messaging.embedded import EmbeddedBus
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.handlers import (
    Handlers,
    InvalidPayload,
    MessageContext,
    UnsupportedVersion,
)
from dropship_common.messaging.inbox import Inbox
from dropship_common.messaging.outbox import Outbox
from dropship_common.parked import add_parked_events_table
from dropship_common.tables import add_common_tables
from dropship_testkit.tap import eventually


class ParcelWeighed(Event):
    TYPE = "test.parcel_weighed"

    parcel_id: uuid.UUID = Field(description="the parcel")
    grams: int = Field(description="its weight")


class ParcelWeighedV2(Event):
    TYPE = "test.parcel_weighed"
    VERSION = 2

    parcel_id: uuid.UUID = Field(description="the parcel")
    weight: str = Field(description="its weight with its unit")


class ParcelLost(Event):
    TYPE = "test.parcel_lost"

    parcel_id: uuid.UUID = Field(description="the parcel")


def weighed(version: int = 1, **payload: Any) -> Envelope:
    body = {"parcel_id": str(uuid.uuid4()), "grams": 120} | payload
    return Envelope(type=ParcelWeighed.TYPE, version=version, payload=body)


def registry_of(seen: list[Event]) -> Handlers:
    registry = Handlers("test-service")

    @registry.handles(ParcelWeighed)
    async def on_weighed(event: ParcelWeighed, ctx: MessageContext) -> None:
        seen.append(event)

    return registry


class _NoContext:
    """Stands for the context where the handler does not look at it."""


async def run(registry: Handlers, envelope: Envelope) -> None:
    handler = registry.resolve(envelope)
    assert handler is not None
    await handler(_NoContext())  # type: ignore[arg-type]


async def test_known_major_version_reaches_the_handler_as_its_model() -> None:
    seen: list[Event] = []
    env = weighed()
    await run(registry_of(seen), env)
    [event] = seen
    assert isinstance(event, ParcelWeighed)
    assert event.parcel_id == uuid.UUID(env.payload["parcel_id"]) and event.grams == 120


async def test_newer_minor_version_with_an_extra_field_is_read() -> None:
    seen: list[Event] = []
    await run(registry_of(seen), weighed(scale="warehouse-2"))  # 1.1 added "scale"
    [event] = seen
    assert isinstance(event, ParcelWeighed) and event.grams == 120


def test_unknown_major_version_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedVersion) as refused:
        registry_of([]).resolve(weighed(version=2))
    assert str(refused.value) == (
        "unsupported version 2 of test.parcel_weighed (this consumer reads 1.x)"
    )


def test_invalid_payload_is_refused_with_the_validation_error() -> None:
    with pytest.raises(InvalidPayload) as refused:
        registry_of([]).resolve(weighed(grams="heavy"))
    assert "ParcelWeighed" in str(refused.value) and "grams" in str(refused.value)


def test_a_type_not_consumed_is_not_resolved_and_versions_are_kept_apart() -> None:
    registry = registry_of([])
    assert registry.resolve(Envelope(type="test.other", payload={})) is None

    @registry.handles(ParcelWeighedV2)
    async def on_v2(event: ParcelWeighedV2, ctx: MessageContext) -> None:
        raise AssertionError("not called here")

    # both majors read: each envelope gets its own model
    assert registry.resolve(weighed(version=2, weight="1 kg")) is not None
    with pytest.raises(InvalidPayload):  # a 1.x payload is never read as 2.x
        registry.resolve(weighed(version=2))
    assert registry.bindings == ["test.parcel_weighed"]
    assert [r.model for r in registry.registrations] == [ParcelWeighed, ParcelWeighedV2]
    with pytest.raises(ValueError, match="already handles"):
        registry.handles(ParcelWeighed)(on_v2)  # type: ignore[arg-type]


# -- through the embedded bus and the consumer -----------------------------------------


@dataclass
class Service:
    bus: EmbeddedBus
    db: Database
    inbox: sa.Table
    parked: sa.Table
    seen: list[Event]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    metadata = sa.MetaData()
    tables = add_common_tables(metadata)
    parked = add_parked_events_table(metadata)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    seen: list[Event] = []
    registry = registry_of(seen)
    registry.parks(parked, [ParcelLost])
    consumer = MessageConsumer(
        "test-service",
        db,
        Inbox(tables.inbox, "test-service"),
        Outbox(tables.outbox),
        registry,
    )
    bus = EmbeddedBus(tmp_path / "bus.db", retry_delays_ms=[50, 100], poll_interval=0.05)
    await bus.subscribe("test-service", consumer.bindings, consumer)
    yield Service(bus, db, tables.inbox, parked, seen)
    await bus.close()
    await db.dispose()


async def dead_letter(service: Service) -> DeadLetter:
    async def letters() -> list[DeadLetter]:
        return await service.bus.dead_letters("test-service")

    [letter] = await eventually(letters, timeout=5)
    return letter


async def count(service: Service, table: sa.Table) -> int:
    async with service.db.sessions() as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_consumer_handles_a_known_version_in_a_transaction_with_the_inbox(
    service: Service,
) -> None:
    env = weighed(scale="warehouse-2")
    await service.bus.publish([env])

    async def applied() -> int:
        return await count(service, service.inbox)

    assert await eventually(applied, timeout=5) == 1
    assert [e.parcel_id for e in service.seen if isinstance(e, ParcelWeighed)] == [
        uuid.UUID(env.payload["parcel_id"])
    ]
    assert await service.bus.dead_letters("test-service") == []


async def test_unknown_major_version_is_dead_lettered_at_once_with_the_reason(
    service: Service,
) -> None:
    env = weighed(version=2, weight="1 kg")
    await service.bus.publish([env])
    letter = await dead_letter(service)
    assert letter.envelope.id == env.id
    assert letter.attempts == 1  # no retry can help
    assert letter.error == (
        "UnsupportedVersion: unsupported version 2 of test.parcel_weighed (this consumer reads 1.x)"
    )
    assert service.seen == [] and await count(service, service.inbox) == 0


async def test_invalid_payload_is_dead_lettered_at_once_with_the_validation_error(
    service: Service,
) -> None:
    await service.bus.publish([weighed(grams="heavy")])
    letter = await dead_letter(service)
    assert letter.attempts == 1
    assert letter.error is not None and letter.error.startswith("InvalidPayload:")
    assert "grams" in letter.error
    assert service.seen == []


async def test_parked_events_are_kept_whole_and_their_version_checked(
    service: Service,
) -> None:
    lost = Envelope(type=ParcelLost.TYPE, payload={"parcel_id": str(uuid.uuid4())})
    await service.bus.publish([lost])

    async def kept() -> list[Any]:
        async with service.db.sessions() as s:
            return list((await s.execute(sa.select(service.parked.c.envelope))).scalars())

    [envelope] = await eventually(kept, timeout=5)
    assert Envelope.model_validate(envelope) == lost
    future = Envelope(type=ParcelLost.TYPE, version=3, payload={})
    await service.bus.publish([future])
    letter = await dead_letter(service)
    assert letter.envelope.id == future.id and "unsupported version 3" in (letter.error or "")
