"""The outbound e-mail queue both mailers share (buyers' messages in order-intake,
suppliers' notices in supplier-gateway): claiming due rows, sending them, and writing
each outcome back. The tables differ; their
queue columns (``status``, ``attempts``, ``next_attempt_at``, ``last_error``,
``sent_at``) are the same.

Claimed rows are ``sending`` until ``next_attempt_at`` (the lease), which is also the
claim's token: a row whose ``next_attempt_at`` changed was claimed again after this
worker's lease ran out, and this worker's outcome is dropped (see
:mod:`dropship_common.leases`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import Message
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.backoff import backoff_interval
from dropship_common.db import utcnow
from dropship_common.leases import one_by_one_within
from dropship_common.mail import MailSender
from dropship_common.observability import mask_text

log = structlog.get_logger(__name__)


class QueuedMail(Protocol):
    id: uuid.UUID
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    sent_at: dt.datetime | None


M = TypeVar("M", bound=QueuedMail)


@dataclass(frozen=True)
class Claimed:
    """A claimed row, copied out of the claiming transaction."""

    id: uuid.UUID
    attempts: int
    message: Message
    lease_until: dt.datetime


@dataclass(frozen=True)
class Sent:
    error: str | None = None  # None: the transport took it


async def claim_due(
    session: AsyncSession,
    model: type[M],
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
    message: Callable[[M], Message],
) -> list[Claimed]:
    """Claim the oldest due rows of ``model`` (new, retrying, or left by a worker whose
    lease ran out; locked, others skip them) and copy them out with their message."""
    table: Any = model
    rows = await session.scalars(
        sa.select(model)
        .where(table.status.in_(("pending", "sending")), table.next_attempt_at <= now)
        .order_by(table.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for row in rows:
        row.status, row.next_attempt_at = "sending", now + lease
        claimed.append(Claimed(row.id, row.attempts, message(row), row.next_attempt_at))
    return claimed


async def send_claimed(
    sender: MailSender, claimed: Iterable[Claimed], lease: dt.timedelta, what: str
) -> dict[uuid.UUID, tuple[Claimed, Sent | None]]:
    """Send one after another; ``None``: not started within half the lease (unsent)."""

    async def send(c: Claimed) -> Sent:
        try:
            await sender.send(c.message)
        except Exception as exc:
            error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000]
            log.warning(f"{what}_failed", email=str(c.id), error=error)
            return Sent(error)
        return Sent()

    done = await one_by_one_within(lease, list(claimed), send)
    return {c.id: (c, sent) for c, sent in done}


def retry_in(attempts: int) -> dt.timedelta:
    """After the ``attempts``-th failure: 15 s, 45 s, 2¼ min, … up to an hour."""
    return backoff_interval(attempts, base=15.0, factor=3.0, cap=3600.0)


def record(row: QueuedMail, claimed: Claimed, sent: Sent | None, max_attempts: int) -> bool:
    """Write one outcome back to its (locked) row; False if the claim was lost."""
    if row.status != "sending" or row.next_attempt_at != claimed.lease_until:
        log.warning("mail_claim_lost", email=str(row.id), status=row.status)
        return False
    now = utcnow()
    if sent is None:  # given back unsent: due again at once
        row.status, row.next_attempt_at = "pending", now
    elif sent.error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
    else:
        row.attempts = claimed.attempts + 1
        row.last_error = sent.error
        row.status = "failed" if row.attempts >= max_attempts else "pending"
        row.next_attempt_at = now + retry_in(row.attempts)
    return True
