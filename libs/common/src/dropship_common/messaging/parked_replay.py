"""Process the events a service parked before the feature that handles them existed
(``Handlers.parks``): on start, each parked envelope whose type now has a handler runs
through it like a delivery (inbox claim first, so a message also delivered live is
applied once), in its own transaction, and leaves ``parked_events``. One that fails
stays parked and is logged; the next start tries it again."""

from __future__ import annotations

import sqlalchemy as sa
import structlog

from dropship_common.messaging.bus import Unprocessable
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.handlers import MessageContext
from dropship_common.runtime import ServiceRuntime

log = structlog.get_logger(__name__)


async def replay_parked(runtime: ServiceRuntime, table: sa.Table) -> int:
    """The number of parked events processed now."""
    handlers = runtime.spec.handlers
    if handlers is None:
        return 0
    async with runtime.db.sessions() as session:
        rows = (
            await session.execute(
                sa.select(table.c.message_id, table.c.envelope).order_by(table.c.received_at)
            )
        ).all()
    done = 0
    for message_id, raw in rows:
        envelope = Envelope.model_validate(raw)
        try:
            handler = handlers.resolve(envelope)
        except Unprocessable as exc:
            log.warning("parked_event_unprocessable", id=str(message_id), error=str(exc))
            continue
        registration = handlers.registration_of(envelope)
        if handler is None or registration is None or registration.parked:
            continue  # still only kept: its feature is not here yet
        try:
            async with runtime.db.transaction() as session:
                if await runtime.inbox.claim(session, envelope.id, envelope.type):
                    await handler(
                        MessageContext(session, envelope, runtime.outbox, runtime.settings)
                    )
                await session.execute(sa.delete(table).where(table.c.message_id == message_id))
        except Exception as exc:
            log.warning("parked_event_failed", id=str(message_id), error=repr(exc))
            continue
        done += 1
    if done:
        log.info("parked_events_replayed", service=runtime.spec.name, count=done)
    return done
