"""One robust connection to RabbitMQ: the publishing channel with publisher confirms,
the topic exchange, channels for consumers, and every broker call bounded in time with
broker trouble turned into :class:`~dropship_common.messaging.bus.BusError`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from dropship_common.messaging.bus import BusError, Unroutable

T = TypeVar("T")

ERROR_MAX_CHARS = 2000

AMQP_ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    OSError,
    RuntimeError,
)

_CONNECT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *AMQP_ERRORS)


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]


class Connection:
    def __init__(
        self, url: str, exchange: str, *, call_timeout: float, connect_timeout: float
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._connect_lock = asyncio.Lock()

    async def call(self, what: str, op: Awaitable[T]) -> T:
        """Await a broker operation; broker trouble becomes :class:`BusError`."""
        try:
            async with asyncio.timeout(self.call_timeout):  # no task per call
                return await op
        except aiormq.exceptions.PublishError as exc:
            raise Unroutable(f"{what}: unroutable") from exc
        except TimeoutError as exc:
            raise BusError(f"{what}: broker did not answer in time") from exc
        except AMQP_ERRORS as exc:
            raise BusError(f"{what}: {exc!r}") from exc

    async def exchange(self) -> AbstractExchange:
        if self._exchange is None:
            await self.connect()
        assert self._exchange is not None
        return self._exchange

    @property
    def publish_channel(self) -> AbstractChannel:
        if self._publish_channel is None:
            raise BusError("bus is closed")
        return self._publish_channel

    async def channel(self, *, prefetch: int | None = None) -> AbstractChannel:
        if self._connection is None:
            await self.connect()
        assert self._connection is not None
        try:
            opening = self._connection.channel(publisher_confirms=True, on_return_raises=True)
        except RuntimeError as exc:  # "Connection was not opened": the broker is away
            raise BusError(f"open channel: {exc}") from exc
        channel = await self.call("open channel", opening)
        if prefetch is not None:
            await self.call("set prefetch", channel.set_qos(prefetch_count=prefetch))
        return channel

    async def connect(self) -> None:
        async with self._connect_lock:
            if self._connection is not None and not self._connection.is_closed:
                return
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
                channel = await self.call(
                    "open channel",
                    connection.channel(publisher_confirms=True, on_return_raises=True),
                )
                exchange = await self.call(
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
        connection, self._connection = self._connection, None
        self._exchange = None
        self._publish_channel = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self.connect_timeout)

    def is_ready(self) -> bool:
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
            and self._publish_channel is not None
            and not self._publish_channel.is_closed
        )
