"""The message bus port. Two adapters implement it with the same semantics:
:mod:`.rabbitmq` (aio-pika) and :mod:`.embedded` (SQLite, one process or several).

Semantics both guarantee:

* ``publish`` returns only once every message is durably stored by the broker
  (publisher confirms); a message no queue is bound to raises :class:`Unroutable`.
* ``subscribe`` declares the service's durable queue, binds it, and calls the handler
  for each message. The message is acked only after the handler returned (the handler
  commits its own transaction first). If the handler raises, the message is retried
  after growing delays (``retry_delays_ms``), then moved to the dead-letter queue,
  where an operator can list and replay it. A handler that raises
  :class:`Unprocessable` (a message no retry can help: an unsupported version, a payload
  its contract rejects) has it dead-lettered at once, with that reason.
* A consumer that dies mid-message gets it redelivered.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dropship_common.messaging.envelope import Envelope


class BusError(Exception):
    """The broker could not take a message; the caller keeps it and tries again."""


class Unroutable(BusError):
    """No queue is bound to the message's routing key (mandatory publish returned)."""


class Unprocessable(Exception):
    """The message can never be handled as it is: dead-letter it now, no retries."""


@dataclass(frozen=True)
class Delivery:
    """What a handler gets besides the envelope."""

    attempt: int  # 1 for the first delivery
    redelivered: bool


Handler = Callable[[Envelope, Delivery], Awaitable[None]]


@dataclass(frozen=True)
class DeadLetter:
    envelope: Envelope
    queue: str
    attempts: int
    error: str | None
    dead_at: dt.datetime | None


class Bus(abc.ABC):
    """See the module docstring for the contract."""

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, envelopes: Sequence[Envelope]) -> None: ...

    @abc.abstractmethod
    async def declare(self, queue: str, bindings: Sequence[str]) -> None:
        """Declare ``queue`` (with its retry and dead-letter queues) and bind it."""

    @abc.abstractmethod
    async def subscribe(self, queue: str, bindings: Sequence[str], handler: Handler) -> None:
        """Declare, bind and start consuming; returns once the consumer runs."""

    @abc.abstractmethod
    async def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]: ...

    @abc.abstractmethod
    async def replay_dead_letters(self, queue: str) -> int:
        """Move every dead letter of ``queue`` back to it (attempts reset); returns count."""

    @abc.abstractmethod
    async def is_ready(self) -> bool: ...
