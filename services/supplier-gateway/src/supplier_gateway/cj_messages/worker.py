"""Applies stored CJ messages after the commit that stored them.

Woken right after that commit (in this process: a signal; from an API process: NOTIFY)
and polling too. Messages are claimed with ``FOR UPDATE SKIP LOCKED`` so replicas share
them, each applied in a savepoint so one cannot hold back the others. A message whose
order we do not know yet is tried again with backoff (CJ's LOGISTIC message can
overtake our record of CJ's order id) and parked once ``cj_message_match_seconds``
have passed since its first try; one our rules refuse (a malformed tracking number) is
parked at once; an error of ours is retried, then parked. Parked messages are counted,
logged and listed for operators (``GET /v1/callbacks/cjdropshipping/messages``)."""

from __future__ import annotations

import datetime as dt

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.backoff import backoff_interval
from dropship_common.db import utcnow
from dropship_common.errors import AppError
from dropship_common.notify import listen_forever
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever, every
from supplier_gateway.cj_messages.apply import Applied, Outcome, Unmatched, Unusable, apply_message
from supplier_gateway.cj_messages.kinds import (
    APPLIED,
    PARKED,
    PROCESSED,
    UNHANDLED,
    count,
    status_on_arrival,
)
from supplier_gateway.cj_messages.repository import (
    CJ_MESSAGE_CHANNEL,
    CJ_MESSAGE_FLAG,
    CJMessageRepository,
)
from supplier_gateway.config import SupplierGatewaySettings, config_of
from supplier_gateway.models import CJMessage

log = structlog.get_logger(__name__)

BATCH = 50
MAX_ATTEMPTS = 10  # errors of ours (not "order unknown"): then parked


def backoff(attempts: int, settings: SupplierGatewaySettings) -> dt.timedelta:
    return backoff_interval(
        attempts,
        base=settings.cj_message_retry_base_seconds,
        cap=settings.cj_message_retry_cap_seconds,
    )


def _error(exc: Exception) -> str:
    if isinstance(exc, AppError):
        details = f" {orjson.dumps(exc.details).decode()}" if exc.details else ""
        return f"{exc.code}: {exc.message}{details}"[:2000]
    return f"{type(exc).__name__}: {mask_text(str(exc))}"[:2000]


class CJMessageWorker:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.rt = runtime
        self.signal = CommitSignal(runtime.db, CJ_MESSAGE_FLAG)

    async def run(self) -> None:
        await drain_forever(
            "cj-messages",
            self.apply_due,
            self.signal,
            poll_seconds=config_of(self.rt).placement_poll_seconds,
            batch_size=BATCH,
        )

    async def apply_due(self) -> int:
        async with self.rt.db.transaction() as session:
            messages = await CJMessageRepository(session).claim_due(BATCH)
            for message in messages:
                await self._one(session, message)
            return len(messages)

    async def _one(self, session: AsyncSession, message: CJMessage) -> None:
        # read now: a rolled-back savepoint may expire the row
        kind, message_id, attempts = message.type, message.message_id, message.attempts
        match_by = message.match_by
        now = utcnow()
        if kind not in APPLIED:  # an operator sent an unhandled one back: still unknown
            self._settle(message, status_on_arrival(kind), kind, message_id, "type not handled")
            return
        outcome: Outcome | None = None
        error: str | None = None
        try:
            async with session.begin_nested():
                outcome = await apply_message(session, self.rt.outbox, message)
        except AppError as exc:  # our rules refuse what it says: trying again changes nothing
            outcome = Unusable(_error(exc))
        except Exception as exc:
            error = _error(exc)
        s = config_of(self.rt)
        message.attempts = attempts + 1
        if isinstance(outcome, Applied):
            message.supplier_order_id = outcome.supplier_order_id
            self._settle(message, PROCESSED, kind, message_id, None)
        elif isinstance(outcome, Unusable):
            self._settle(message, PARKED, kind, message_id, outcome.reason)
        elif isinstance(outcome, Unmatched):
            match_by = match_by or now + dt.timedelta(seconds=s.cj_message_match_seconds)
            message.match_by, message.last_error = match_by, outcome.reason
            if now >= match_by:
                self._settle(message, PARKED, kind, message_id, f"never matched: {outcome.reason}")
            else:
                message.next_attempt_at = min(now + backoff(attempts + 1, s), match_by)
        else:
            message.last_error = error
            log.warning("cj_message_failed", message=message_id, attempts=attempts + 1, error=error)
            if attempts + 1 >= MAX_ATTEMPTS:
                self._settle(message, PARKED, kind, message_id, error)
            else:
                message.next_attempt_at = now + backoff(attempts + 1, s)

    def _settle(
        self, message: CJMessage, status: str, kind: str, message_id: str, error: str | None
    ) -> None:
        message.status, message.last_error = status, error
        message.next_attempt_at, message.processed_at = None, utcnow()
        count(kind, status)
        if status in (PARKED, UNHANDLED):
            log.warning("cj_message_" + status, message=message_id, type=kind, reason=error)


async def cj_message_worker(runtime: ServiceRuntime) -> None:
    worker = CJMessageWorker(runtime)
    if not runtime.db.is_sqlite:  # an API process elsewhere NOTIFYs after its commits
        runtime.spawn(
            listen_forever(runtime.db.url, CJ_MESSAGE_CHANNEL, worker.signal.set),
            "cj-message-listener",
        )
    await worker.run()


async def cj_message_purge_worker(runtime: ServiceRuntime) -> None:
    """Applied and ignored messages after a week (their ids deduplicate CJ's retries,
    3 tries 5 minutes apart)."""

    async def step() -> None:
        async with runtime.db.transaction() as session:
            await CJMessageRepository(session).purge_settled(dt.timedelta(days=7))

    await every("cj-message-purge", 3600, step)
