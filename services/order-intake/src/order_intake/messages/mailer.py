"""Sends queued buyer messages after commit, through the shared transport
(:mod:`dropship_common.mail`: SMTP in production, a mail folder on disk in embedded
mode)."""

from __future__ import annotations

import datetime as dt
from email.message import Message

import structlog

from dropship_common import mail, mail_queue
from dropship_common.db import utcnow
from dropship_common.mail import MailFolderSender, MailSender, SmtpSender
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from order_intake.config import config_of
from order_intake.messages.repository import BuyerMessageRepository
from order_intake.messages.service import MAIL_FLAG
from order_intake.models import BuyerMessage
from order_intake.workers_wiring import webhook_backlog

__all__ = ["MailFolderSender", "MailSender", "Mailer", "SmtpSender", "mail_worker", "to_email"]

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
SEND_LEASE = dt.timedelta(minutes=5)


def make_sender(runtime: ServiceRuntime) -> MailSender:
    return mail.make_sender(config_of(runtime))


def to_email(row: BuyerMessage, sender: str) -> Message:
    return mail.text_message(
        sender,
        row.to_address or "",
        row.subject,
        row.body,
        {
            mail.MESSAGE_ID_HEADER: str(row.id),
            "X-Dropship-Order-Id": str(row.order_id),
            "Content-Language": row.language,
        },
    )


class Mailer:
    def __init__(
        self, runtime: ServiceRuntime, sender: MailSender, lease: dt.timedelta = SEND_LEASE
    ) -> None:
        self.rt = runtime
        self.sender = sender
        self.lease = lease
        self.signal = CommitSignal(runtime.db, MAIL_FLAG)

    async def send_due(self, limit: int = 50) -> int:
        """Claim due messages (a lease, in a short transaction), send them with no
        transaction open, then record the outcome. A crash while sending leaves the
        lease to expire and the message is sent again: at least once, never lost."""
        now = utcnow()
        mail_from = config_of(self.rt).mail_from
        async with self.rt.db.transaction() as session:
            claimed = await mail_queue.claim_due(
                session, BuyerMessage, now, limit, self.lease, lambda r: to_email(r, mail_from)
            )
        if not claimed:
            return 0
        outcomes = await mail_queue.send_claimed(self.sender, claimed, self.lease, "buyer_message")
        async with self.rt.db.transaction() as session:
            for row in await BuyerMessageRepository(session).get_many(outcomes, for_update=True):
                mail_queue.record(row, *outcomes[row.id], MAX_ATTEMPTS)
        return len(claimed)

    async def run(self) -> None:
        # buyer e-mails give way to confirming orders and publishing their events while
        # either has more than a batch waiting: a thank-you a few seconds late harms no
        # one, a late order.confirmed delays the supplier (same process, same cores)
        await drain_forever(
            "mailer",
            self.send_due,
            self.signal,
            poll_seconds=5.0,
            batch_size=50,
            give_way_to=(webhook_backlog(self.rt), self.rt.relay.backlog),
        )


async def mail_worker(runtime: ServiceRuntime) -> None:
    await Mailer(runtime, make_sender(runtime)).run()
