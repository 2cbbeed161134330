"""Carries out the accepted credits at the storefront after commit, as the milestone
worker sends milestones: claim due rows with a lease (``attempts`` counts the claim),
call the storefront with no transaction open, record the outcome after and publish it
for aftersales (``order.refund_recorded`` / ``order.discount_created``, or
``order.refund_failed`` when the storefront refuses for good or the retries are over).
A row claimed again is sent with ``may_exist``: Shopify's idempotency key gives the
first refund back, and the plugins look for the case's refund or code before they make
one.

A payment (a dearer exchange's difference) is a link made at the storefront and
e-mailed to the buyer (``order.payment_link_sent``), then ``open``: looked at every
``payment_check_seconds`` until paid (``order.payment_received``) or expired unpaid
(``order.payment_failed``)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from dropship_common.contracts.order_intake import (
    OrderDiscountCreated,
    OrderPaymentFailed,
    OrderPaymentLinkSent,
    OrderPaymentReceived,
    OrderRefundFailed,
    OrderRefundRecorded,
)
from dropship_common.db import utcnow
from dropship_common.http import HostNotAllowed
from dropship_common.leases import one_by_one_within
from dropship_common.messaging.envelope import Envelope
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from order_intake.config import config_of
from order_intake.credits.messages import payment_link_message
from order_intake.credits.repository import CreditRepository
from order_intake.credits.service import CREDIT_FLAG
from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRefused,
    CreditRequest,
    ShopAccess,
    StorefrontRejected,
    StorefrontUnavailable,
)
from order_intake.fulfilment.plugins import plugin_for
from order_intake.fulfilment.repository import FulfilmentRepository
from order_intake.fulfilment.worker import MAX_ATTEMPTS, StorefrontClients, backoff, shop_access
from order_intake.models import OrderEvent, StorefrontCredit

log = structlog.get_logger(__name__)

LINK_SENT = OrderPaymentLinkSent.TYPE
LEASE = dt.timedelta(minutes=2)
ACTOR = "system:credit-worker"


@dataclass(frozen=True)
class Job:
    credit_id: uuid.UUID
    kind: str
    shop: ShopAccess
    request: CreditRequest
    attempts: int


@dataclass(frozen=True)
class Sent:
    outcome: CreditOutcome | None = None
    refused: CreditRefused | None = None
    error: str | None = None
    retry_after: float | None = None


def _timeline(
    row: StorefrontCredit, kind: str, reason: str, now: dt.datetime, **details: Any
) -> OrderEvent:
    """The credit's step on the order's timeline."""
    return OrderEvent(order_id=row.order_id, at=now, kind=kind, reason=reason[:1000],
                      details={"case_id": str(row.case_id), **details},
                      cause=f"case:{row.case_id}", actor=ACTOR)  # fmt: skip


def _amount_and_ref(row: StorefrontCredit) -> str:
    return f"{row.amount} {row.currency} ({row.external_ref})"


def _waiting(row: StorefrontCredit) -> str:
    """What a row goes back to between attempts: a payment link already made is open."""
    return "open" if row.kind == "payment" and row.external_ref else "pending"


def idempotency_key(case_id: uuid.UUID, kind: str, round_: int = 0) -> str:
    """One key per case, kind and round (a try again after a failure is a new
    operation), a UUID as Shopify recommends."""
    suffix = f":{round_}" if round_ else ""
    return str(uuid.uuid5(case_id, f"dropship:{kind}{suffix}"))


@dataclass
class CreditWorker:
    runtime: ServiceRuntime
    batch_size: int = 20
    clients: StorefrontClients = field(init=False)

    def __post_init__(self) -> None:
        self.signal = CommitSignal(self.runtime.db, CREDIT_FLAG)
        self.clients = StorefrontClients(self.runtime)

    async def claim(self) -> list[Job]:
        now = utcnow()
        jobs: list[Job] = []
        async with self.runtime.db.transaction() as session:
            rows = await CreditRepository(session).claim_due(now, self.batch_size)
            fulfilments = FulfilmentRepository(session)
            orders = await fulfilments.orders([r.order_id for r in rows])
            shops = await fulfilments.shops([r.shop_id for r in rows])
            for row in rows:
                row.status, row.next_attempt_at = "sending", now + LEASE
                row.attempts += 1
                order = orders[row.order_id]
                jobs.append(
                    Job(
                        row.id,
                        row.kind,
                        shop_access(shops[row.shop_id]),
                        CreditRequest(
                            credit_id=row.id,
                            case_id=row.case_id,
                            key=idempotency_key(row.case_id, row.kind, row.round),
                            order_external_id=order.external_id,
                            amount=row.amount,
                            currency=row.currency,
                            reason=row.reason,
                            buyer_email=order.buyer.get("email"),
                            buyer_ref=order.buyer.get("external_id"),
                            code=row.code,
                            ends_at=row.ends_at,
                            # a later round looks first too: an earlier round given
                            # up on unknown outcomes may have reached the storefront
                            may_exist=row.attempts > 1 or row.round > 0,
                            external_ref=row.external_ref if row.kind == "payment" else None,
                            round=row.round,
                        ),
                        row.attempts,
                    )
                )
        return jobs

    async def send(self, job: Job) -> Sent:
        try:
            client: httpx.AsyncClient = self.clients.client(job.shop)
        except HostNotAllowed as exc:
            return Sent(refused=CreditRefused("storefront_error", str(exc)[:1000]))
        plugin = plugin_for(job.shop.platform)(client, job.shop, settings=config_of(self.runtime))
        try:
            if job.kind == "refund":
                return Sent(outcome=await plugin.refund(job.request))
            if job.kind == "payment" and job.request.external_ref:
                return Sent(outcome=await plugin.payment_paid(job.request))
            if job.kind == "payment":
                return Sent(outcome=await plugin.payment_link(job.request))
            return Sent(outcome=await plugin.discount(job.request))
        except CreditRefused as exc:
            return Sent(refused=exc)
        except StorefrontRejected as exc:
            return Sent(refused=CreditRefused("storefront_error", mask_text(str(exc))[:1000]))
        except StorefrontUnavailable as exc:
            return Sent(error=mask_text(str(exc))[:1000], retry_after=exc.retry_after)
        except Exception as exc:
            log.exception("credit_crashed", credit=str(job.credit_id))
            return Sent(error=f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000])

    async def send_due(self) -> int:
        jobs = await self.claim()
        if not jobs:
            return 0
        done = await one_by_one_within(LEASE, jobs, self.send)
        results = {job.credit_id: (job, sent) for job, sent in done}
        async with self.runtime.db.transaction() as session:
            for row in await CreditRepository(session).by_ids(list(results)):
                job, sent = results[row.id]
                if row.status != "sending" or row.attempts != job.attempts:
                    log.warning("credit_claim_lost", credit=str(row.id))
                elif sent is None:  # the lease ran out before its turn
                    row.status, row.next_attempt_at = _waiting(row), utcnow()
                    row.attempts -= 1
                else:
                    event, envelope = self._record(row, sent)
                    if event is not None:
                        session.add(event)
                    if envelope is not None:
                        await self.runtime.outbox.add(session, [envelope])
                    if envelope is not None and envelope.type == LINK_SENT:
                        await payment_link_message(session, row)
        return len(jobs)

    def _record(
        self, row: StorefrontCredit, sent: Sent
    ) -> tuple[OrderEvent | None, Envelope | None]:
        now = utcnow()
        if sent.outcome is not None and row.kind == "payment":
            return self._payment(row, sent.outcome, now)
        if sent.outcome is not None:
            return self._done(row, sent.outcome, now)
        refused = sent.refused
        if refused is None:
            row.last_error = sent.error
            if row.attempts < MAX_ATTEMPTS:
                row.status = _waiting(row)
                wait = backoff(row.attempts)
                if sent.retry_after is not None:
                    wait = max(wait, dt.timedelta(seconds=sent.retry_after))
                row.next_attempt_at = now + wait
                return None, None
            refused = CreditRefused("storefront_error", f"gave up: {sent.error}")
        row.status, row.last_error = "failed", str(refused)
        if row.kind == "payment":
            code = "unknown_order" if refused.code == "unknown_order" else "storefront_error"
            return self._payment_failed(row, code, f"payment link: {refused}", now)
        failed = OrderRefundFailed(
            order_id=row.order_id, shop_id=row.shop_id, case_id=row.case_id,
            code=refused.code, message=f"{row.kind}: {refused}"[:1000],
            refundable=refused.refundable, failed_at=now,
        )  # fmt: skip
        event = _timeline(row, f"{row.kind}_failed", str(refused), now)
        return event, failed.envelope(correlation_id=str(row.order_id))

    def _done(
        self, row: StorefrontCredit, outcome: CreditOutcome, now: dt.datetime
    ) -> tuple[OrderEvent, Envelope]:
        row.status, row.done_at = "done", now
        row.external_ref, row.gateway_refunded = outcome.external_ref, outcome.gateway_refunded
        row.last_error = None
        envelope: Envelope
        if row.kind == "refund":
            envelope = OrderRefundRecorded(
                order_id=row.order_id, shop_id=row.shop_id, case_id=row.case_id,
                source="aftersales", storefront_refund_id=outcome.external_ref,
                amount=row.amount, currency=row.currency,
                refunded_total=outcome.refunded_total,
                gateway_refunded=outcome.gateway_refunded, refunded_at=now,
            ).envelope(correlation_id=str(row.order_id))  # fmt: skip
        else:
            assert row.code is not None and row.ends_at is not None
            envelope = OrderDiscountCreated(
                order_id=row.order_id, shop_id=row.shop_id, case_id=row.case_id,
                code=row.code, storefront_discount_id=outcome.external_ref,
                amount=row.amount, currency=row.currency, ends_at=row.ends_at,
            ).envelope(correlation_id=str(row.order_id))  # fmt: skip
        reason = f"{row.amount} {row.currency} ({outcome.external_ref})"
        if not outcome.gateway_refunded:
            reason += ": recorded at the store, the gateway did not pay it"
        event = _timeline(row, f"{row.kind}_made", reason, now, existing=outcome.existing)
        return event, envelope

    def _payment(
        self, row: StorefrontCredit, outcome: CreditOutcome, now: dt.datetime
    ) -> tuple[OrderEvent | None, Envelope | None]:
        """A payment link made (the buyer is e-mailed it), paid, or still waiting."""
        check = dt.timedelta(seconds=config_of(self.runtime).payment_check_seconds)
        row.last_error = None
        if row.external_ref is None:  # the link is made
            row.status, row.external_ref, row.payment_url = (
                "open",
                outcome.external_ref,
                outcome.url,
            )
            row.attempts, row.next_attempt_at = 0, now + check
            assert row.ends_at is not None
            sent = OrderPaymentLinkSent(
                order_id=row.order_id, shop_id=row.shop_id, case_id=row.case_id,
                storefront_ref=outcome.external_ref, amount=row.amount, currency=row.currency,
                expires_at=row.ends_at,
            )  # fmt: skip
            event = _timeline(row, "payment_link_sent", _amount_and_ref(row), now)
            return event, sent.envelope(correlation_id=str(row.order_id))
        if outcome.paid:
            row.status, row.done_at = "done", now
            paid = OrderPaymentReceived(
                order_id=row.order_id, shop_id=row.shop_id, case_id=row.case_id,
                storefront_ref=row.external_ref, amount=row.amount, currency=row.currency,
                paid_at=now,
            )  # fmt: skip
            event = _timeline(row, "payment_received", _amount_and_ref(row), now)
            return event, paid.envelope(correlation_id=str(row.order_id))
        if row.ends_at is not None and now >= row.ends_at:
            row.status = "failed"
            return self._payment_failed(
                row, "not_paid", f"not paid by {row.ends_at.isoformat()}", now
            )
        row.status, row.attempts, row.next_attempt_at = "open", 0, now + check
        return None, None

    def _payment_failed(
        self, row: StorefrontCredit, code: str, message: str, now: dt.datetime
    ) -> tuple[OrderEvent, Envelope]:
        failed = OrderPaymentFailed(
            order_id=row.order_id, shop_id=row.shop_id, case_id=row.case_id,
            code=code, message=message[:1000], failed_at=now,
        )  # fmt: skip
        event = _timeline(row, "payment_failed", message, now)
        return event, failed.envelope(correlation_id=str(row.order_id))

    async def run(self) -> None:
        try:
            await drain_forever(
                "credits", self.send_due, self.signal, poll_seconds=2.0,
                batch_size=self.batch_size,
            )  # fmt: skip
        finally:
            await self.clients.close()


async def credit_worker(runtime: ServiceRuntime) -> None:
    await CreditWorker(runtime).run()


__all__ = ["CreditWorker", "credit_worker", "idempotency_key"]
