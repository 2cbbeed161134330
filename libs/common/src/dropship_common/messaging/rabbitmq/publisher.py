"""Publishing envelopes to the topic exchange, each confirmed by the broker and
``mandatory`` (a message no queue is bound for is :class:`~.bus.Unroutable`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import HeadersType

from dropship_common.messaging.bus import Unroutable
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.rabbitmq.connection import Connection

ATTEMPT = "x-attempt"
LAST_ERROR = "x-last-error"
DEAD_AT = "x-dead-at"


def amqp_message(
    body: bytes,
    *,
    headers: HeadersType,
    message_id: str | None,
    type_: str | None,
    correlation_id: str | None,
) -> aio_pika.Message:
    return aio_pika.Message(
        body=body,
        headers=headers,
        message_id=message_id,
        type=type_,
        correlation_id=correlation_id,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        timestamp=dt.datetime.now(dt.UTC),
    )


async def publish(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    if not envelopes:
        return
    exchange = await conn.exchange()

    async def one(envelope: Envelope) -> None:
        message = amqp_message(
            envelope.to_json(),
            headers={ATTEMPT: 1},
            message_id=str(envelope.id),
            type_=envelope.type,
            correlation_id=envelope.correlation_id,
        )
        await conn.call(
            f"publish {envelope.type} {envelope.id}",
            exchange.publish(message, routing_key=envelope.type, mandatory=True),
        )

    if len(envelopes) == 1:  # the relay's case: no gather (a task) per message
        await one(envelopes[0])
        return
    results = await asyncio.gather(*(one(e) for e in envelopes), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if not errors:
        return
    for error in errors:
        if not isinstance(error, Exception):
            raise error  # cancellation and friends
    failed = [e for e in errors if not isinstance(e, Unroutable)]
    raise failed[0] if failed else errors[0]
