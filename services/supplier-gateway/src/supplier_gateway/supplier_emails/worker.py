"""Sends queued supplier e-mails through the shared transport (dropship_common.mail):
claimed with a lease in a short transaction, sent with none open, the outcome recorded
after (at least once: a crash while sending sends it again)."""

from __future__ import annotations

import datetime as dt
import uuid
from email.message import Message

import structlog

from dropship_common import mail
from dropship_common.db import utcnow
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.settings import Settings
from dropship_common.workers import CommitSignal, drain_forever
from supplier_gateway.models import SupplierEmail
from supplier_gateway.supplier_emails.repository import SupplierEmailRepository
from supplier_gateway.supplier_emails.service import MAIL_FLAG

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
SEND_LEASE = dt.timedelta(minutes=5)
BATCH = 50


def portal_url(settings: Settings) -> str:
    base = settings.supplier_portal_url or f"http://{settings.host}:{settings.port or 8002}"
    return base.rstrip("/")


def to_message(row: SupplierEmail, settings: Settings) -> Message:
    link = f"{portal_url(settings)}/portal/orders/{row.supplier_order_id}"
    body = f"{row.body}\n\nOpen it in the portal: {link}\n"
    return mail.text_message(
        settings.mail_from,
        row.to_address,
        row.subject,
        body,
        {
            mail.MESSAGE_ID_HEADER: str(row.id),
            "X-Dropship-Supplier-Order-Id": str(row.supplier_order_id),
        },
    )


class SupplierMailer:
    def __init__(self, runtime: ServiceRuntime, sender: mail.MailSender) -> None:
        self.rt = runtime
        self.sender = sender
        self.signal = CommitSignal(runtime.db, MAIL_FLAG)

    async def send_due(self) -> int:
        async with self.rt.db.transaction() as session:
            rows = await SupplierEmailRepository(session).claim_due(utcnow(), BATCH, SEND_LEASE)
            claimed = [(r.id, r.attempts, to_message(r, self.rt.settings)) for r in rows]
        outcomes: dict[uuid.UUID, tuple[int, str | None]] = {}
        for email_id, attempts, message in claimed:
            try:
                await self.sender.send(message)
                outcomes[email_id] = (attempts, None)
            except Exception as exc:
                error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000]
                outcomes[email_id] = (attempts + 1, error)
                log.warning("supplier_email_failed", email=str(email_id), error=error)
        if not outcomes:
            return 0
        async with self.rt.db.transaction() as session:
            for row in await SupplierEmailRepository(session).by_ids(outcomes):
                attempts, failure = outcomes[row.id]
                if failure is None:
                    row.status, row.sent_at, row.last_error = "sent", utcnow(), None
                    continue
                row.attempts, row.last_error = attempts, failure
                row.status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
                row.next_attempt_at = utcnow() + dt.timedelta(seconds=min(3600, 5 * 3**attempts))
        return len(claimed)

    async def run(self) -> None:
        await drain_forever(
            "supplier_mailer", self.send_due, self.signal, poll_seconds=5.0, batch_size=BATCH
        )


async def supplier_mail_worker(runtime: ServiceRuntime) -> None:
    await SupplierMailer(runtime, mail.make_sender(runtime.settings, "supplier-mail")).run()
