"""Sends parcels' milestones to the storefronts after commit, as the fulfilment worker
sends fulfilments: claim due rows with a lease (``attempts`` counts the claim), call the
storefront with no transaction open, record the outcome after. A milestone waits for
its parcel's fulfilment to be at the storefront first (Shopify's events hang on it). A
row claimed again is sent with ``may_exist``: the plugin looks before it writes.
Retried with backoff until the storefront accepts it; exactly once."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import httpx
import structlog

from dropship_common.db import utcnow
from dropship_common.http import HostNotAllowed
from dropship_common.leases import one_by_one_within
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from order_intake.config import config_of
from order_intake.fulfilment.base import (
    MilestoneRequest,
    ShopAccess,
    StorefrontRejected,
    StorefrontUnavailable,
)
from order_intake.fulfilment.plugins import plugin_for
from order_intake.fulfilment.repository import FulfilmentRepository
from order_intake.fulfilment.worker import (
    MAX_ATTEMPTS,
    Result,
    StorefrontClients,
    backoff,
    shop_access,
)
from order_intake.models import Milestone, OrderEvent
from order_intake.parcel_tracking.repository import MilestoneRepository
from order_intake.parcel_tracking.service import MILESTONE_FLAG

log = structlog.get_logger(__name__)

LEASE = dt.timedelta(minutes=2)
WAIT_FOR_FULFILMENT = dt.timedelta(minutes=1)
ACTOR = "system:milestone-worker"


@dataclass(frozen=True)
class Job:
    milestone_id: uuid.UUID
    shop: ShopAccess
    request: MilestoneRequest
    attempts: int


@dataclass
class MilestoneWorker:
    runtime: ServiceRuntime
    batch_size: int = 20
    clients: StorefrontClients = field(init=False)

    def __post_init__(self) -> None:
        self.signal = CommitSignal(self.runtime.db, MILESTONE_FLAG)
        self.clients = StorefrontClients(self.runtime)

    async def claim(self) -> list[Job]:
        now = utcnow()
        jobs: list[Job] = []
        async with self.runtime.db.transaction() as session:
            repo = MilestoneRepository(session)
            rows = await repo.claim_due(now, self.batch_size)
            fulfilments = FulfilmentRepository(session)
            orders = await fulfilments.orders([r.order_id for r in rows])
            shops = await fulfilments.shops([r.shop_id for r in rows])
            for row in rows:
                fulfilment = await repo.fulfilment(row.order_id, row.tracking_number)
                if fulfilment is None or fulfilment.status in ("failed", "skipped"):
                    row.status, row.last_error = "skipped", "no fulfilment at the storefront"
                    continue
                if fulfilment.status != "sent":
                    row.next_attempt_at = now + WAIT_FOR_FULFILMENT
                    continue
                row.status, row.next_attempt_at = "sending", now + LEASE
                row.attempts += 1
                jobs.append(
                    Job(
                        row.id,
                        shop_access(shops[row.shop_id]),
                        MilestoneRequest(
                            milestone_id=row.id,
                            order_external_id=orders[row.order_id].external_id,
                            fulfilment_ref=fulfilment.external_ref,
                            tracking_number=row.tracking_number,
                            milestone=row.milestone,
                            happened_at=row.happened_at,
                            message=row.message,
                            estimated_delivery=row.estimated_delivery,
                            completes_delivery=row.completes_delivery,
                            may_exist=row.attempts > 1,
                        ),
                        row.attempts,
                    )
                )
        return jobs

    async def send(self, job: Job) -> Result:
        try:
            client: httpx.AsyncClient = self.clients.client(job.shop)
        except HostNotAllowed as exc:
            return Result(error=str(exc)[:1000], permanent=True)
        plugin = plugin_for(job.shop.platform)(client, job.shop, settings=config_of(self.runtime))
        try:
            return Result(outcome=await plugin.milestone(job.request))
        except StorefrontRejected as exc:
            return Result(error=mask_text(str(exc))[:1000], permanent=True)
        except StorefrontUnavailable as exc:
            return Result(error=mask_text(str(exc))[:1000], retry_after=exc.retry_after)
        except Exception as exc:
            log.exception("milestone_crashed", milestone=str(job.milestone_id))
            return Result(error=f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000])

    async def send_due(self) -> int:
        jobs = await self.claim()
        if not jobs:
            return 0
        done = await one_by_one_within(LEASE, jobs, self.send)
        results = {job.milestone_id: (job, sent) for job, sent in done}
        async with self.runtime.db.transaction() as session:
            for row in await MilestoneRepository(session).by_ids(list(results)):
                job, result = results[row.id]
                if row.status != "sending" or row.attempts != job.attempts:
                    log.warning("milestone_claim_lost", milestone=str(row.id))
                elif result is None:
                    row.status, row.next_attempt_at = "pending", utcnow()
                    row.attempts -= 1
                else:
                    event = self._record(row, result)
                    if event is not None:
                        session.add(event)
        return len(jobs)

    def _record(self, row: Milestone, result: Result) -> OrderEvent | None:
        now = utcnow()
        if result.outcome is not None:
            row.status = "sent" if result.outcome.result != "nothing_to_do" else "skipped"
            row.external_ref = result.outcome.external_ref
            row.sent_at, row.last_error = now, result.outcome.detail
            if row.status == "skipped":
                return None
            kind = "milestone_written_back"
            reason: str | None = f"{row.platform}: {row.tracking_number} {row.milestone}"
        else:
            row.last_error = result.error
            if not (result.permanent or row.attempts >= MAX_ATTEMPTS):
                row.status = "pending"
                wait = backoff(row.attempts)
                if result.retry_after is not None:
                    wait = max(wait, dt.timedelta(seconds=result.retry_after))
                row.next_attempt_at = now + wait
                return None
            row.status = "failed"
            kind, reason = "milestone_failed", result.error
        return OrderEvent(
            order_id=row.order_id,
            at=now,
            kind=kind,
            reason=reason,
            details={"milestone_id": str(row.id), "milestone": row.milestone},
            cause=f"milestone:{row.id}",
            actor=ACTOR,
        )

    async def run(self) -> None:
        try:
            await drain_forever(
                "milestones",
                self.send_due,
                self.signal,
                poll_seconds=2.0,
                batch_size=self.batch_size,
            )
        finally:
            await self.clients.close()


async def milestone_worker(runtime: ServiceRuntime) -> None:
    await MilestoneWorker(runtime).run()
