"""The queues of one consumer queue ``q`` and how they are declared: ``q`` (quorum,
bound to the topic exchange, delivery limit, dead-lettering to ``q.dlq``), one delay
tier ``q.retry.quorum.<ms>ms`` per retry delay, and ``q.dlq``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue

from dropship_common.messaging.rabbitmq.connection import Connection


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


@dataclass(frozen=True)
class Topology:
    prefix: str
    retry_delays_ms: tuple[int, ...]
    delivery_limit: int

    def queue_name(self, queue: str) -> str:
        return f"{self.prefix}{queue}"

    def dlq_name(self, queue: str) -> str:
        return f"{self.queue_name(queue)}.dlq"

    def retry_name(self, queue: str, delay_ms: int) -> str:
        return f"{self.queue_name(queue)}.retry.quorum.{delay_ms}ms"

    def all_queue_names(self, queue: str) -> list[str]:
        """Every queue :meth:`declare` creates for ``queue`` (main, retry tiers, dlq)."""
        return [
            self.queue_name(queue),
            *(self.retry_name(queue, ms) for ms in dict.fromkeys(self.retry_delays_ms)),
            self.dlq_name(queue),
        ]

    async def declare(
        self, conn: Connection, channel: AbstractChannel, queue: str, bindings: Sequence[str]
    ) -> AbstractQueue:
        name = self.queue_name(queue)
        dlq = self.dlq_name(queue)
        exchange = await conn.call(
            "declare exchange",
            channel.declare_exchange(conn.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True),
        )
        await conn.call(f"declare {dlq}", channel.declare_queue(dlq, durable=True))
        for delay_ms in dict.fromkeys(self.retry_delays_ms):
            retry = self.retry_name(queue, delay_ms)
            await conn.call(
                f"declare {retry}",
                channel.declare_queue(
                    retry, durable=True, arguments=retry_tier_arguments(name, delay_ms)
                ),
            )
        main = await conn.call(
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
            await conn.call(f"bind {name} to {key}", main.bind(exchange, routing_key=key))
        return main

    async def delete(
        self, conn: Connection, channel: AbstractChannel, queues: Sequence[str], *, exchange: bool
    ) -> None:
        for queue in queues:
            for name in self.all_queue_names(queue):
                await conn.call(f"delete {name}", channel.queue_delete(name))
        if exchange:
            await conn.call("delete exchange", channel.exchange_delete(conn.exchange_name))
