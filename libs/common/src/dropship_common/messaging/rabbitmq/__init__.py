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
fails the message is nacked with requeue, so it is never lost.

One module each: :mod:`.connection` (the robust connection, bounded broker calls),
:mod:`.topology` (queue names and declarations), :mod:`.publisher`, :mod:`.consumer`
(handling, retry tiers, dead-lettering), :mod:`.dead_letters` (list and replay);
:class:`RabbitMQBus` puts them behind the :class:`~.bus.Bus` port.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from aio_pika.abc import AbstractChannel

from dropship_common.messaging.bus import Bus, DeadLetter, Handler
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.rabbitmq import dead_letters, publisher
from dropship_common.messaging.rabbitmq.connection import Connection
from dropship_common.messaging.rabbitmq.consumer import Consumers
from dropship_common.messaging.rabbitmq.topology import Topology, retry_tier_arguments

__all__ = ["RabbitMQBus", "retry_tier_arguments"]


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
        self.exchange_name = exchange
        self.retry_delays_ms = list(retry_delays_ms)
        self.delivery_limit = delivery_limit
        self.prefetch = prefetch
        self.queue_prefix = queue_prefix
        self.connection = Connection(
            url, exchange, call_timeout=publish_timeout, connect_timeout=connect_timeout
        )
        self.topology = Topology(queue_prefix, tuple(retry_delays_ms), delivery_limit)
        self.consumers = Consumers(self.connection, self.topology, prefetch)

    @property
    def url(self) -> str:
        return self.connection.url

    @url.setter
    def url(self, value: str) -> None:
        """Another broker from the next connect on (tests: a broker that is away)."""
        self.connection.url = value

    # -- names ------------------------------------------------------------------------

    def queue_name(self, queue: str) -> str:
        return self.topology.queue_name(queue)

    def dlq_name(self, queue: str) -> str:
        return self.topology.dlq_name(queue)

    def retry_name(self, queue: str, delay_ms: int) -> str:
        return self.topology.retry_name(queue, delay_ms)

    def all_queue_names(self, queue: str) -> list[str]:
        """Every queue ``declare`` creates for ``queue`` (main, retry tiers, dlq)."""
        return self.topology.all_queue_names(queue)

    # -- Bus --------------------------------------------------------------------------

    async def connect(self) -> None:
        await self.connection.connect()

    async def close(self) -> None:
        await self.consumers.abandon()
        await self.connection.close()

    async def is_ready(self) -> bool:
        return self.connection.is_ready()

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        await publisher.publish(self.connection, envelopes)

    async def declare(self, queue: str, bindings: Sequence[str]) -> None:
        channel = await self.connection.channel()
        try:
            await self.topology.declare(self.connection, channel, queue, bindings)
        finally:
            await _close_quietly(channel)

    async def subscribe(self, queue: str, bindings: Sequence[str], handler: Handler) -> None:
        await self.consumers.subscribe(queue, list(bindings), handler)

    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        return await dead_letters.list_dead_letters(self.connection, self.topology, queue, limit)

    async def replay_dead_letters(self, queue: str) -> int:
        return await dead_letters.replay_dead_letters(self.connection, self.topology, queue)

    # -- housekeeping (tests, operators) ----------------------------------------------

    async def delete_topology(self, queues: Sequence[str], *, exchange: bool = True) -> None:
        """Delete ``queues`` (with their retry queues and dlq) and, if asked, the exchange."""
        channel = await self.connection.channel()
        try:
            await self.topology.delete(self.connection, channel, queues, exchange=exchange)
        finally:
            await _close_quietly(channel)


async def _close_quietly(channel: AbstractChannel) -> None:
    with contextlib.suppress(Exception):
        await channel.close()
