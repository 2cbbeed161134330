"""The RabbitMQ adapter of :class:`~.bus.Bus` (aio-pika, robust connection).

Topology for a queue ``q`` (named ``<queue_prefix><queue>``):

* ``q``: durable quorum queue bound to the topic exchange, with an explicit
  ``x-delivery-limit`` and dead-lettering to ``q.dlq`` -- the guard against a poison
  message that crashes its consumers (each crash returns it unacked).
* ``q.retry.quorum.<ms>ms``: one per delay tier, a quorum queue with ``x-message-ttl``
  = ms whose expired messages dead-letter back to ``q`` through the default exchange
  *at least once* (``x-dead-letter-strategy``, which needs ``x-overflow:
  reject-publish``): a message whose delay runs out while the node is down reaches
  ``q`` after the restart. (The classic ``q.retry.<ms>ms`` tiers of earlier versions
  dead-lettered at most once and lost such messages; they are no longer declared and
  can be deleted once empty.)
* ``q.dlq``: durable; an operator lists and replays it.

A failed handler's message is re-published (with publisher confirm) to the retry tier of
its attempt, or to ``q.dlq`` after the last one, and only then acked; if that publish
fails the message is nacked with requeue, so it is never lost. A handler's
:class:`~.bus.Unprocessable` goes to ``q.dlq`` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar, cast

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    HeadersType,
)

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

log = logging.getLogger(__name__)

T = TypeVar("T")

ERROR_MAX_CHARS = 2000
ATTEMPT = "x-attempt"
LAST_ERROR = "x-last-error"
DEAD_AT = "x-dead-at"

_AMQP_ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    OSError,
    RuntimeError,
)

_CONNECT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *_AMQP_ERRORS)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]


def _int_header(headers: HeadersType | None, name: str, default: int) -> int:
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


def _str_header(headers: HeadersType | None, name: str) -> str | None:
    value = (headers or {}).get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def retry_tier_arguments(main_queue: str, delay_ms: int) -> dict[str, Any]:
    """A delay tier: held ``delay_ms``, then back to ``main_queue``, at least once."""
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": int(delay_ms),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": main_queue,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class RabbitMQBus(Bus):
    def __init__(
        self,
        url: str,
        exchange: str,
        *,
        retry_delays_ms: Sequence[int],
        delivery_limit: int,
        prefetch: int,
        queue_prefix: str = "",
        publish_timeout: float = 5.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.retry_delays_ms = list(retry_delays_ms)
        self.delivery_limit = delivery_limit
        self.prefetch = prefetch
        self.queue_prefix = queue_prefix
        self.publish_timeout = publish_timeout
        self.connect_timeout = connect_timeout
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consumer_channels: list[AbstractChannel] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self._connect_lock = asyncio.Lock()
        self._closing = False

    # -- names ------------------------------------------------------------------------

    def queue_name(self, queue: str) -> str:
        return f"{self.queue_prefix}{queue}"

    def dlq_name(self, queue: str) -> str:
        return f"{self.queue_name(queue)}.dlq"

    def retry_name(self, queue: str, delay_ms: int) -> str:
        return f"{self.queue_name(queue)}.retry.quorum.{delay_ms}ms"

    def all_queue_names(self, queue: str) -> list[str]:
        """Every queue ``declare`` creates for ``queue`` (main, retry tiers, dlq)."""
        return [
            self.queue_name(queue),
            *(self.retry_name(queue, ms) for ms in dict.fromkeys(self.retry_delays_ms)),
            self.dlq_name(queue),
        ]

    # -- plumbing ---------------------------------------------------------------------

    async def _amqp(self, what: str, op: Awaitable[T]) -> T:
        """Await a broker operation; broker trouble becomes :class:`BusError`."""
        try:
            async with asyncio.timeout(self.publish_timeout):  # no task per call
                return await op
        except aiormq.exceptions.PublishError as exc:
            raise Unroutable(f"{what}: unroutable") from exc
        except TimeoutError as exc:
            raise BusError(f"{what}: broker did not answer in time") from exc
        except _AMQP_ERRORS as exc:
            raise BusError(f"{what}: {exc!r}") from exc

    async def _ensure(self) -> AbstractExchange:
        if self._exchange is None:
            await self.connect()
        assert self._exchange is not None
        return self._exchange

    async def _channel(self, *, prefetch: int | None = None) -> AbstractChannel:
        if self._connection is None:
            await self.connect()
        assert self._connection is not None
        try:
            opening = self._connection.channel(publisher_confirms=True, on_return_raises=True)
        except RuntimeError as exc:  # "Connection was not opened": the broker is away
            raise BusError(f"open channel: {exc}") from exc
        channel = await self._amqp("open channel", opening)
        if prefetch is not None:
            await self._amqp("set prefetch", channel.set_qos(prefetch_count=prefetch))
        return channel

    @staticmethod
    def _message(
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

    # -- Bus --------------------------------------------------------------------------

    async def connect(self) -> None:
        async with self._connect_lock:
            if self._connection is not None and not self._connection.is_closed:
                return
            self._closing = False
            created: list[AbstractRobustConnection] = []

            def make_connection(*args: Any, **kwargs: Any) -> AbstractRobustConnection:
                conn = aio_pika.RobustConnection(*args, **kwargs)
                created.append(conn)
                return conn

            try:
                connection = await asyncio.wait_for(
                    aio_pika.connect_robust(
                        self.url,
                        timeout=self.connect_timeout,
                        connection_class=cast(type[AbstractRobustConnection], make_connection),
                    ),
                    self.connect_timeout,
                )
            except _CONNECT_ERRORS as exc:
                for conn in created:  # stop its reconnect loop, release the socket
                    with contextlib.suppress(Exception):
                        await conn.close()
                raise BusError(f"cannot connect to RabbitMQ: {exc!r}") from exc
            try:
                channel = await self._amqp(
                    "open channel",
                    connection.channel(publisher_confirms=True, on_return_raises=True),
                )
                exchange = await self._amqp(
                    "declare exchange",
                    channel.declare_exchange(
                        self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                    ),
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    await connection.close()
                raise
            self._connection = connection
            self._publish_channel = channel
            self._exchange = exchange

    async def close(self) -> None:
        self._closing = True
        # handlers in flight are abandoned: their messages stay unacked and the broker
        # redelivers them (redelivered=True) when the channel closes
        tasks = [t for t in self._inflight if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        connection, self._connection = self._connection, None
        self._exchange = None
        self._publish_channel = None
        self._consumer_channels.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self.connect_timeout)

    async def is_ready(self) -> bool:
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
            and self._publish_channel is not None
            and not self._publish_channel.is_closed
        )

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        exchange = await self._ensure()

        async def one(envelope: Envelope) -> None:
            message = self._message(
                envelope.to_json(),
                headers={ATTEMPT: 1},
                message_id=str(envelope.id),
                type_=envelope.type,
                correlation_id=envelope.correlation_id,
            )
            await self._amqp(
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

    async def declare(self, queue: str, bindings: Sequence[str]) -> None:
        channel = await self._channel()
        try:
            await self._declare_on(channel, queue, bindings)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def _declare_on(
        self, channel: AbstractChannel, queue: str, bindings: Sequence[str]
    ) -> AbstractQueue:
        name = self.queue_name(queue)
        dlq = self.dlq_name(queue)
        exchange = await self._amqp(
            "declare exchange",
            channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True),
        )
        await self._amqp(f"declare {dlq}", channel.declare_queue(dlq, durable=True))
        for delay_ms in dict.fromkeys(self.retry_delays_ms):
            retry = self.retry_name(queue, delay_ms)
            await self._amqp(
                f"declare {retry}",
                channel.declare_queue(
                    retry,
                    durable=True,
                    arguments=retry_tier_arguments(name, delay_ms),
                ),
            )
        main = await self._amqp(
            f"declare {name}",
            channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": int(self.delivery_limit),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": dlq,
                },
            ),
        )
        for key in bindings:
            await self._amqp(f"bind {name} to {key}", main.bind(exchange, routing_key=key))
        return main

    async def subscribe(self, queue: str, bindings: Sequence[str], handler: Handler) -> None:
        channel = await self._channel(prefetch=self.prefetch)
        main = await self._declare_on(channel, queue, bindings)
        self._consumer_channels.append(channel)

        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await self._handle(queue, handler, message)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        await self._amqp(f"consume {main.name}", main.consume(on_message, no_ack=False))

    async def _handle(self, queue: str, handler: Handler, message: AbstractIncomingMessage) -> None:
        attempt = _int_header(message.headers, ATTEMPT, 1)
        try:
            envelope = Envelope.from_json(message.body)
        except ValueError as exc:
            log.error("unparseable message %s on %s", message.message_id, queue)
            await self._dead_letter(queue, message, attempt, _error_text(exc))
            return
        try:
            await handler(envelope, Delivery(attempt, bool(message.redelivered)))
        except Unprocessable as exc:
            log.warning("unprocessable %s on %s: %s", envelope.type, queue, exc)
            await self._dead_letter(queue, message, attempt, _error_text(exc))
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
            if attempt <= len(self.retry_delays_ms):
                await self._retry(queue, message, attempt, _error_text(exc))
            else:
                await self._dead_letter(queue, message, attempt, _error_text(exc))
            return
        try:
            await message.ack()
        except _AMQP_ERRORS:
            # the broker redelivers it; the consumer's inbox skips the duplicate
            log.warning("could not ack %s on %s", message.message_id, queue, exc_info=True)

    async def _republish(
        self, message: AbstractIncomingMessage, routing_key: str, headers: HeadersType
    ) -> None:
        if self._publish_channel is None:
            raise BusError("bus is closed")
        copy = self._message(
            message.body,
            headers=headers,
            message_id=message.message_id,
            type_=message.type,
            correlation_id=message.correlation_id,
        )
        await self._amqp(
            f"republish to {routing_key}",
            self._publish_channel.default_exchange.publish(
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
            with contextlib.suppress(*_AMQP_ERRORS):
                await message.nack(requeue=True)
            return
        try:
            await message.ack()
        except _AMQP_ERRORS:
            # the copy is stored; the original comes back and runs once more
            log.warning("could not ack %s after moving it", message.message_id, exc_info=True)

    async def _retry(
        self, queue: str, message: AbstractIncomingMessage, attempt: int, error: str
    ) -> None:
        delay_ms = self.retry_delays_ms[attempt - 1]
        headers: HeadersType = {ATTEMPT: attempt + 1, LAST_ERROR: error}
        await self._move(message, self.retry_name(queue, delay_ms), headers)

    async def _dead_letter(
        self, queue: str, message: AbstractIncomingMessage, attempt: int, error: str
    ) -> None:
        headers: HeadersType = {
            ATTEMPT: attempt,
            LAST_ERROR: error,
            DEAD_AT: dt.datetime.now(dt.UTC).isoformat(),
        }
        await self._move(message, self.dlq_name(queue), headers)

    # -- dead letters -----------------------------------------------------------------

    @staticmethod
    def _to_dead_letter(queue: str, message: AbstractIncomingMessage) -> DeadLetter:
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
        error = _str_header(headers, LAST_ERROR)
        if error is None and headers.get("x-death"):
            # dead-lettered by the broker itself (x-delivery-limit exceeded)
            error = "dead-lettered by the broker (delivery limit exceeded)"
        dead_at_raw = _str_header(headers, DEAD_AT)
        dead_at = None
        if dead_at_raw:
            with contextlib.suppress(ValueError):
                dead_at = dt.datetime.fromisoformat(dead_at_raw)
        return DeadLetter(
            envelope=envelope,
            queue=queue,
            attempts=_int_header(headers, ATTEMPT, 1),
            error=error,
            dead_at=dead_at,
        )

    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        channel = await self._channel()
        held: list[AbstractIncomingMessage] = []
        try:
            dlq = await self._amqp(
                "open dlq", channel.declare_queue(self.dlq_name(queue), passive=True)
            )
            letters = []
            while len(held) < limit:
                message = await self._amqp("read dlq", dlq.get(no_ack=False, fail=False))
                if message is None:
                    break
                held.append(message)
                letters.append(self._to_dead_letter(queue, message))
            return letters
        finally:
            # only looked at: everything goes back (closing the channel would too)
            for message in held:
                with contextlib.suppress(*_AMQP_ERRORS):
                    await message.reject(requeue=True)
            with contextlib.suppress(Exception):
                await channel.close()

    async def replay_dead_letters(self, queue: str) -> int:
        channel = await self._channel()
        moved = 0
        try:
            dlq = await self._amqp(
                "open dlq", channel.declare_queue(self.dlq_name(queue), passive=True)
            )
            # only what is there now: a handler still failing cannot make this loop forever
            pending = dlq.declaration_result.message_count or 0
            target = self.queue_name(queue)
            for _ in range(pending):
                message = await self._amqp("read dlq", dlq.get(no_ack=False, fail=False))
                if message is None:
                    break
                copy = self._message(
                    message.body,
                    headers={ATTEMPT: 1},
                    message_id=message.message_id,
                    type_=message.type,
                    correlation_id=message.correlation_id,
                )
                try:
                    await self._amqp(
                        f"replay to {target}",
                        channel.default_exchange.publish(copy, routing_key=target, mandatory=True),
                    )
                except BusError:
                    with contextlib.suppress(*_AMQP_ERRORS):
                        await message.nack(requeue=True)
                    raise
                await self._amqp("ack dlq copy", message.ack())
                moved += 1
            return moved
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    # -- housekeeping (tests, operators) ----------------------------------------------

    async def delete_topology(self, queues: Sequence[str], *, exchange: bool = True) -> None:
        """Delete ``queues`` (with their retry queues and dlq) and, if asked, the exchange."""
        channel = await self._channel()
        try:
            for queue in queues:
                for name in self.all_queue_names(queue):
                    await self._amqp(f"delete {name}", channel.queue_delete(name))
            if exchange:
                await self._amqp("delete exchange", channel.exchange_delete(self.exchange_name))
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
