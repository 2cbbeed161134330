"""Sends queued supplier e-mails through the shared transport (dropship_common.mail):
claimed with a lease in a short transaction, sent with none open, the outcome recorded
after (at least once: a crash while sending sends it again)."""

from __future__ import annotations

import datetime as dt
from email.message import Message

import structlog

from dropship_common import mail, mail_queue
from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from supplier_gateway.config import SupplierGatewaySettings, config_of
from supplier_gateway.models import SupplierEmail
from supplier_gateway.supplier_emails.repository import SupplierEmailRepository
from supplier_gateway.supplier_emails.service import MAIL_FLAG

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
SEND_LEASE = dt.timedelta(minutes=5)
BATCH = 50


def portal_url(settings: SupplierGatewaySettings) -> str:
    base = settings.supplier_portal_url or f"http://{settings.host}:{settings.port or 8002}"
    return base.rstrip("/")


def to_message(row: SupplierEmail, settings: SupplierGatewaySettings) -> Message:
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
    def __init__(
        self, runtime: ServiceRuntime, sender: mail.MailSender, lease: dt.timedelta = SEND_LEASE
    ) -> None:
        self.rt = runtime
        self.sender = sender
        self.lease = lease
        self.signal = CommitSignal(runtime.db, MAIL_FLAG)

    async def send_due(self) -> int:
        now = utcnow()
        settings = config_of(self.rt)
        async with self.rt.db.transaction() as session:
            claimed = await mail_queue.claim_due(
                session, SupplierEmail, now, BATCH, self.lease, lambda r: to_message(r, settings)
            )
        if not claimed:
            return 0
        outcomes = await mail_queue.send_claimed(self.sender, claimed, self.lease, "supplier_email")
        async with self.rt.db.transaction() as session:
            for row in await SupplierEmailRepository(session).by_ids(outcomes):
                mail_queue.record(row, *outcomes[row.id], MAX_ATTEMPTS)
        return len(claimed)

    async def run(self) -> None:
        await drain_forever(
            "supplier_mailer", self.send_due, self.signal, poll_seconds=5.0, batch_size=BATCH
        )


async def supplier_mail_worker(runtime: ServiceRuntime) -> None:
    await SupplierMailer(runtime, mail.make_sender(config_of(runtime), "supplier-mail")).run()
