"""An operator's view of ``q.dlq``: list its messages (looked at, all put back) and
replay them to ``q`` (only those there when the replay starts)."""

from __future__ import annotations

import contextlib
import datetime as dt

from aio_pika.abc import AbstractIncomingMessage

from dropship_common.messaging.bus import BusError, DeadLetter
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.rabbitmq.connection import AMQP_ERRORS, Connection
from dropship_common.messaging.rabbitmq.consumer import int_header, str_header
from dropship_common.messaging.rabbitmq.publisher import (
    ATTEMPT,
    DEAD_AT,
    LAST_ERROR,
    amqp_message,
)
from dropship_common.messaging.rabbitmq.topology import Topology


def to_dead_letter(queue: str, message: AbstractIncomingMessage) -> DeadLetter:
    try:
        envelope = Envelope.from_json(message.body)
    except ValueError:
        envelope = Envelope(
            type="_unparseable",
            payload={
                "message_id": message.message_id,
                "raw": message.body.decode(errors="replace"),
            },
        )
    headers = message.headers or {}
    error = str_header(headers, LAST_ERROR)
    if error is None and headers.get("x-death"):
        # dead-lettered by the broker itself (x-delivery-limit exceeded)
        error = "dead-lettered by the broker (delivery limit exceeded)"
    dead_at_raw = str_header(headers, DEAD_AT)
    dead_at = None
    if dead_at_raw:
        with contextlib.suppress(ValueError):
            dead_at = dt.datetime.fromisoformat(dead_at_raw)
    return DeadLetter(
        envelope=envelope,
        queue=queue,
        attempts=int_header(headers, ATTEMPT, 1),
        error=error,
        dead_at=dead_at,
    )


async def list_dead_letters(
    conn: Connection, topology: Topology, queue: str, limit: int
) -> list[DeadLetter]:
    channel = await conn.channel()
    held: list[AbstractIncomingMessage] = []
    try:
        dlq = await conn.call(
            "open dlq", channel.declare_queue(topology.dlq_name(queue), passive=True)
        )
        letters = []
        while len(held) < limit:
            message = await conn.call("read dlq", dlq.get(no_ack=False, fail=False))
            if message is None:
                break
            held.append(message)
            letters.append(to_dead_letter(queue, message))
        return letters
    finally:
        # only looked at: everything goes back (closing the channel would too)
        for message in held:
            with contextlib.suppress(*AMQP_ERRORS):
                await message.reject(requeue=True)
        with contextlib.suppress(Exception):
            await channel.close()


async def replay_dead_letters(conn: Connection, topology: Topology, queue: str) -> int:
    channel = await conn.channel()
    moved = 0
    try:
        dlq = await conn.call(
            "open dlq", channel.declare_queue(topology.dlq_name(queue), passive=True)
        )
        # only what is there now: a handler still failing cannot make this loop forever
        pending = dlq.declaration_result.message_count or 0
        target = topology.queue_name(queue)
        for _ in range(pending):
            message = await conn.call("read dlq", dlq.get(no_ack=False, fail=False))
            if message is None:
                break
            copy = amqp_message(
                message.body,
                headers={ATTEMPT: 1},
                message_id=message.message_id,
                type_=message.type,
                correlation_id=message.correlation_id,
            )
            try:
                await conn.call(
                    f"replay to {target}",
                    channel.default_exchange.publish(copy, routing_key=target, mandatory=True),
                )
            except BusError:
                with contextlib.suppress(*AMQP_ERRORS):
                    await message.nack(requeue=True)
                raise
            await conn.call("ack dlq copy", message.ack())
            moved += 1
        return moved
    finally:
        with contextlib.suppress(Exception):
            await channel.close()
