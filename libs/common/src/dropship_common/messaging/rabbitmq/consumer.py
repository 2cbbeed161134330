"""Consuming a queue: each message handed to the handler, acked after it returned; a
failed one re-published (with publisher confirm) to the retry tier of its attempt, or to
``q.dlq`` after the last one, and only then acked; if that publish fails the message is
nacked with requeue, so it is never lost. A handler's :class:`~.bus.Unprocessable` goes
to ``q.dlq`` at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, HeadersType

from dropship_common.messaging.bus import BusError, Delivery, Handler, Unprocessable
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.rabbitmq.connection import AMQP_ERRORS, Connection, error_text
from dropship_common.messaging.rabbitmq.publisher import (
    ATTEMPT,
    DEAD_AT,
    LAST_ERROR,
    amqp_message,
)
from dropship_common.messaging.rabbitmq.topology import Topology

log = logging.getLogger(__name__)


def int_header(headers: HeadersType | None, name: str, default: int) -> int:
    value = (headers or {}).get(name)
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def str_header(headers: HeadersType | None, name: str) -> str | None:
    value = (headers or {}).get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


class Consumers:
    """The queues this process consumes, and the handler tasks in flight."""

    def __init__(self, conn: Connection, topology: Topology, prefetch: int) -> None:
        self.conn = conn
        self.topology = topology
        self.prefetch = prefetch
        self._inflight: set[asyncio.Task[Any]] = set()
        # held for as long as they consume (the connection keeps only weak references)
        self._channels: list[AbstractChannel] = []

    async def subscribe(self, queue: str, bindings: list[str], handler: Handler) -> None:
        channel = await self.conn.channel(prefetch=self.prefetch)
        main = await self.topology.declare(self.conn, channel, queue, bindings)
        self._channels.append(channel)

        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await self.handle(queue, handler, message)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        await self.conn.call(f"consume {main.name}", main.consume(on_message, no_ack=False))

    async def abandon(self) -> None:
        """Handlers in flight are cancelled: their messages stay unacked and the broker
        redelivers them (redelivered=True) when the channel closes."""
        tasks = [t for t in self._inflight if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._channels.clear()

    async def handle(self, queue: str, handler: Handler, message: AbstractIncomingMessage) -> None:
        attempt = int_header(message.headers, ATTEMPT, 1)
        try:
            envelope = Envelope.from_json(message.body)
        except ValueError as exc:
            log.error("unparseable message %s on %s", message.message_id, queue)
            await self._dead_letter(queue, message, attempt, error_text(exc))
            return
        try:
            await handler(envelope, Delivery(attempt, bool(message.redelivered)))
        except Unprocessable as exc:
            log.warning("unprocessable %s on %s: %s", envelope.type, queue, exc)
            await self._dead_letter(queue, message, attempt, error_text(exc))
            return
        except Exception as exc:
            log.warning(
                "handler for %s failed on %s (attempt %d): %s",
                queue,
                envelope.type,
                attempt,
                exc,
                exc_info=True,
            )
            if attempt <= len(self.topology.retry_delays_ms):
                await self._retry(queue, message, attempt, error_text(exc))
            else:
                await self._dead_letter(queue, message, attempt, error_text(exc))
            return
        try:
            await message.ack()
        except AMQP_ERRORS:
            # the broker redelivers it; the consumer's inbox skips the duplicate
            log.warning("could not ack %s on %s", message.message_id, queue, exc_info=True)

    async def _republish(
        self, message: AbstractIncomingMessage, routing_key: str, headers: HeadersType
    ) -> None:
        copy = amqp_message(
            message.body,
            headers=headers,
            message_id=message.message_id,
            type_=message.type,
            correlation_id=message.correlation_id,
        )
        await self.conn.call(
            f"republish to {routing_key}",
            self.conn.publish_channel.default_exchange.publish(
                copy, routing_key=routing_key, mandatory=True
            ),
        )

    async def _move(
        self, message: AbstractIncomingMessage, routing_key: str, headers: HeadersType
    ) -> None:
        try:
            await self._republish(message, routing_key, headers)
        except BusError:
            log.exception("could not move %s to %s; requeueing", message.message_id, routing_key)
            with contextlib.suppress(*AMQP_ERRORS):
                await message.nack(requeue=True)
            return
        try:
            await message.ack()
        except AMQP_ERRORS:
            # the copy is stored; the original comes back and runs once more
            log.warning("could not ack %s after moving it", message.message_id, exc_info=True)

    async def _retry(
        self, queue: str, message: AbstractIncomingMessage, attempt: int, error: str
    ) -> None:
        delay_ms = self.topology.retry_delays_ms[attempt - 1]
        headers: HeadersType = {ATTEMPT: attempt + 1, LAST_ERROR: error}
        await self._move(message, self.topology.retry_name(queue, delay_ms), headers)

    async def _dead_letter(
        self, queue: str, message: AbstractIncomingMessage, attempt: int, error: str
    ) -> None:
        headers: HeadersType = {
            ATTEMPT: attempt,
            LAST_ERROR: error,
            DEAD_AT: dt.datetime.now(dt.UTC).isoformat(),
        }
        await self._move(message, self.topology.dlq_name(queue), headers)
