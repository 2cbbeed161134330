"""Turns bus deliveries into handler calls inside one transaction with the inbox.

The handler is looked up in the service's :class:`~.handlers.Handlers` by the event's
type and major version and gets the payload parsed into its contract model; an
unsupported version or an invalid payload is dead-lettered at once (see there).
The bus acks only after :meth:`MessageConsumer.__call__` returned, i.e. after commit.
"""

from __future__ import annotations

import structlog

from dropship_common.db import Database
from dropship_common.messaging.bus import Delivery, Unprocessable
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.handlers import Handlers, MessageContext
from dropship_common.messaging.inbox import Inbox
from dropship_common.messaging.outbox import Outbox
from dropship_common.observability import MESSAGES_CONSUMED, bind_correlation_id
from dropship_common.settings import Settings

log = structlog.get_logger(__name__)


class MessageConsumer:
    def __init__(
        self,
        service: str,
        db: Database,
        inbox: Inbox,
        outbox: Outbox,
        handlers: Handlers,
        settings: Settings | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.db = db
        self.inbox = inbox
        self.outbox = outbox
        self.handlers = handlers

    @property
    def bindings(self) -> list[str]:
        return self.handlers.bindings

    async def __call__(self, envelope: Envelope, delivery: Delivery) -> None:
        bind_correlation_id(envelope.correlation_id or str(envelope.id))
        try:
            handler = self.handlers.resolve(envelope)
        except Unprocessable as exc:
            MESSAGES_CONSUMED.labels(self.service, envelope.type, "failed").inc()
            log.warning(
                "message_unprocessable", type=envelope.type, id=str(envelope.id), error=str(exc)
            )
            raise
        if handler is None:
            MESSAGES_CONSUMED.labels(self.service, envelope.type, "ignored").inc()
            return
        try:
            async with self.db.transaction() as session:
                if not await self.inbox.claim(session, envelope.id, envelope.type):
                    MESSAGES_CONSUMED.labels(self.service, envelope.type, "duplicate").inc()
                    log.info("message_duplicate", type=envelope.type, id=str(envelope.id))
                    return
                await handler(MessageContext(session, envelope, self.outbox, self.settings))
        except Exception as exc:
            MESSAGES_CONSUMED.labels(self.service, envelope.type, "failed").inc()
            log.warning(
                "message_failed",
                type=envelope.type,
                id=str(envelope.id),
                attempt=delivery.attempt,
                error=f"{type(exc).__name__}: {exc}",
            )
            raise
        MESSAGES_CONSUMED.labels(self.service, envelope.type, "ok").inc()
