"""Turns bus deliveries into handler calls inside one transaction with the inbox.

The bus acks only after :meth:`MessageConsumer.__call__` returned, i.e. after commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import Database
from dropship_common.messaging.bus import Delivery
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.inbox import Inbox
from dropship_common.observability import MESSAGES_CONSUMED, bind_correlation_id

log = structlog.get_logger(__name__)

MessageHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]


class MessageConsumer:
    def __init__(
        self, service: str, db: Database, inbox: Inbox, handlers: Mapping[str, MessageHandler]
    ) -> None:
        self.service = service
        self.db = db
        self.inbox = inbox
        self.handlers = dict(handlers)

    @property
    def bindings(self) -> list[str]:
        return sorted(self.handlers)

    async def __call__(self, envelope: Envelope, delivery: Delivery) -> None:
        bind_correlation_id(envelope.correlation_id or str(envelope.id))
        handler = self.handlers.get(envelope.type)
        if handler is None:
            MESSAGES_CONSUMED.labels(self.service, envelope.type, "ignored").inc()
            return
        try:
            async with self.db.transaction() as session:
                if not await self.inbox.claim(session, envelope.id, envelope.type):
                    MESSAGES_CONSUMED.labels(self.service, envelope.type, "duplicate").inc()
                    log.info("message_duplicate", type=envelope.type, id=str(envelope.id))
                    return
                await handler(session, envelope)
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
