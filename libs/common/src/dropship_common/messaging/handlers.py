"""A service's message handlers, registered by contract model and keyed by the event's
type and major version (the envelope's ``version``).

Each service keeps one registry in its ``consumers.py``::

    registry = Handlers("order-intake")

    @registry.handles(SupplierOrderPlaced)
    async def supplier_order_placed(event: SupplierOrderPlaced, ctx: MessageContext) -> None:
        ...

The consumer resolves an envelope to its handler before any transaction: the payload is
parsed into the contract model (fields the model does not know are ignored, so a newer
minor version with extra fields is read); a major version no handler reads, or a payload
its model rejects, raises :class:`~.bus.Unprocessable` and the message is dead-lettered
with that reason at once. The event catalogue reads the registries too (who consumes
what).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts import Event
from dropship_common.messaging.bus import Unprocessable
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.outbox import Outbox
from dropship_common.parked import park
from dropship_common.settings import Settings

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class MessageContext:
    """What a handler gets besides its event: the transaction it runs in (with the
    inbox claim), the envelope, and the outbox for the events it publishes."""

    session: AsyncSession
    envelope: Envelope
    outbox: Outbox
    # the consuming service's settings (its own class, see ``Settings.as_config``)
    settings: Settings | None = None

    @property
    def ref(self) -> str:
        """The cause of what the handler does, for audit trails: ``message:<id>``."""
        return f"message:{self.envelope.id}"


TypedHandler = Callable[[E, MessageContext], Awaitable[None]]
BoundHandler = Callable[[MessageContext], Awaitable[None]]


class UnsupportedVersion(Unprocessable):
    """No handler reads this major version of the event."""


class InvalidPayload(Unprocessable):
    """The payload does not match the contract model of its type and version."""


@dataclass(frozen=True)
class Registration:
    """One (type, major version) a service consumes: its model and what it does."""

    model: type[Event]
    handler: Callable[[Any, MessageContext], Awaitable[None]] | None
    parked_in: sa.Table | None = None

    @property
    def parked(self) -> bool:
        return self.parked_in is not None


class Handlers:
    """The registry of one service's message handlers."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._by_type: dict[str, dict[int, Registration]] = {}

    def _add(self, registration: Registration) -> None:
        model = registration.model
        versions = self._by_type.setdefault(model.TYPE, {})
        if model.VERSION in versions:
            raise ValueError(f"{self.service} already handles {model.TYPE} v{model.VERSION}")
        versions[model.VERSION] = registration

    def handles(self, model: type[E]) -> Callable[[TypedHandler[E]], TypedHandler[E]]:
        """Register the decorated coroutine for ``model``'s type and major version."""

        def register(handler: TypedHandler[E]) -> TypedHandler[E]:
            self._add(Registration(model, handler))
            return handler

        return register

    def parks(self, table: sa.Table, models: Iterable[type[Event]]) -> None:
        """Keep these events (their whole envelopes) in ``table`` for a later release:
        bound now so that none is lost before the feature that handles them lands."""
        for model in models:
            self._add(Registration(model, None, table))

    @property
    def bindings(self) -> list[str]:
        """The routing keys the service's queue is bound to."""
        return sorted(self._by_type)

    @property
    def registrations(self) -> list[Registration]:
        return [
            reg
            for _type, versions in sorted(self._by_type.items())
            for _version, reg in sorted(versions.items())
        ]

    def registration_of(self, envelope: Envelope) -> Registration | None:
        """What is registered for the envelope's type and major version, if anything."""
        return self._by_type.get(envelope.type, {}).get(envelope.version)

    def resolve(self, envelope: Envelope) -> BoundHandler | None:
        """The handler of ``envelope`` with its parsed event, or None when the service
        does not consume the type. Raises :class:`UnsupportedVersion` or
        :class:`InvalidPayload` (both dead-lettered at once)."""
        versions = self._by_type.get(envelope.type)
        if versions is None:
            return None
        registration = versions.get(envelope.version)
        if registration is None:
            reads = ", ".join(f"{v}.x" for v in sorted(versions))
            raise UnsupportedVersion(
                f"unsupported version {envelope.version} of {envelope.type}"
                f" (this consumer reads {reads})"
            )
        if registration.parked_in is not None:
            table = registration.parked_in

            async def keep(ctx: MessageContext) -> None:
                await park(table, ctx.session, ctx.envelope)

            return keep
        handler = registration.handler
        assert handler is not None
        try:
            event = registration.model.model_validate(envelope.payload)
        except ValidationError as exc:
            raise InvalidPayload(
                f"payload of {envelope.type} v{envelope.version} does not match"
                f" {registration.model.__name__}: {exc}"
            ) from exc

        async def run(ctx: MessageContext) -> None:
            await handler(event, ctx)

        return run
