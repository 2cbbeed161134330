"""Sends queued fulfilments to the storefronts after commit.

Like the mailer: claim due rows with a lease in a short transaction (``attempts`` counts
the claim), call the storefront with no transaction open, record the outcome in a second
transaction. A row claimed again after a failure or a lost lease is sent with
``may_exist``, so the plugin looks for an earlier fulfilment with its tracking number
before creating one: retried until the storefront accepts it, never duplicated."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from dropship_common.backoff import backoff_interval
from dropship_common.db import utcnow
from dropship_common.egress import EgressRules
from dropship_common.http import HostNotAllowed, OutboundPolicy, make_client
from dropship_common.leases import one_by_one_within
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from order_intake.config import config_of
from order_intake.fulfilment.base import (
    FulfilmentRequest,
    Outcome,
    ShipmentLine,
    ShopAccess,
    StorefrontRejected,
    StorefrontUnavailable,
)
from order_intake.fulfilment.plugins import plugin_for
from order_intake.fulfilment.repository import FulfilmentRepository
from order_intake.fulfilment.routes import configured_routes, route_for, storefront_domain_problem
from order_intake.fulfilment.service import FULFILMENT_FLAG
from order_intake.models import Fulfilment, Order, OrderEvent, Shop

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 15  # about a day and a half of backoff, then an operator decides
SEND_LEASE = dt.timedelta(minutes=2)
TRANSPORT_KEY = "storefront_transport"  # runtime.state: an inner transport (tests)
ACTOR = "system:fulfilment-worker"


def backoff(attempts: int, rand: Callable[[], float] = random.random) -> dt.timedelta:
    """After the ``attempts``-th failure: 1 s, 4 s, 16 s, ... up to 3 h, with jitter."""
    # ``rand`` 1.0 is the full wait, 0.0 three quarters of it
    return backoff_interval(
        attempts, base=1.0, factor=4.0, cap=3 * 3600.0, jitter=0.25, rand=lambda: 1.0 - rand()
    )


@dataclass(frozen=True)
class Job:
    fulfilment_id: uuid.UUID
    shop: ShopAccess
    request: FulfilmentRequest
    attempts: int


@dataclass(frozen=True)
class Result:
    outcome: Outcome | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


def request_for(f: Fulfilment, order: Order) -> FulfilmentRequest:
    covered = set(f.line_ids)
    return FulfilmentRequest(
        fulfilment_id=f.id,
        order_external_id=order.external_id,
        carrier=f.carrier,
        tracking_numbers=tuple(f.tracking_numbers),
        tracking_urls=tuple(f.tracking_urls),
        lines=tuple(
            ShipmentLine(line.external_id, line.quantity, line.title)
            for line in order.lines
            if str(line.id) in covered
        ),
        completes_order=f.completes_order,
        shipped_at=f.shipped_at,
        may_exist=f.attempts > 1,
    )


def shop_access(shop: Shop) -> ShopAccess:
    return ShopAccess(shop.id, shop.platform, shop.domain, dict(shop.admin_credentials or {}))


class StorefrontClients:
    """One resilient client per shop domain, allowed to call only that domain (a
    storefront's: a Shopify shop's is ``*.myshopify.com``)."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.routes = configured_routes()
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, shop: ShopAccess) -> httpx.AsyncClient:
        domain = shop.domain
        found = self._clients.get(domain)
        if found is None:
            refused = storefront_domain_problem(shop.platform, domain)
            if refused:
                raise HostNotAllowed(refused)
            route = route_for(domain, self.routes)
            policy = OutboundPolicy(
                allowed_hosts={route.host},
                allowed_schemes=frozenset({route.scheme}),
                egress=EgressRules.from_settings(self.runtime.settings),
            )
            found = self._clients[domain] = make_client(
                policy, base_url=route.base_url, transport=self.runtime.state.get(TRANSPORT_KEY)
            )
        return found

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


@dataclass
class FulfilmentWorker:
    runtime: ServiceRuntime
    batch_size: int = 20
    lease: dt.timedelta = SEND_LEASE
    clients: StorefrontClients = field(init=False)

    def __post_init__(self) -> None:
        self.signal = CommitSignal(self.runtime.db, FULFILMENT_FLAG)
        self.clients = StorefrontClients(self.runtime)

    def client(self, shop: ShopAccess) -> httpx.AsyncClient:
        return self.clients.client(shop)

    async def claim(self) -> list[Job]:
        now = utcnow()
        async with self.runtime.db.transaction() as session:
            repo = FulfilmentRepository(session)
            rows = await repo.claim_due(now, self.batch_size)
            orders = await repo.orders([r.order_id for r in rows])
            shops = await repo.shops([r.shop_id for r in rows])
            jobs = []
            for row in rows:
                row.status, row.next_attempt_at = "sending", now + self.lease
                row.attempts += 1
                jobs.append(
                    Job(
                        row.id,
                        shop_access(shops[row.shop_id]),
                        request_for(row, orders[row.order_id]),
                        row.attempts,
                    )
                )
        return jobs

    async def send(self, job: Job) -> Result:
        try:
            client = self.client(job.shop)
        except HostNotAllowed as exc:  # not a storefront's domain: nothing is sent
            return Result(error=str(exc)[:1000], permanent=True)
        plugin = plugin_for(job.shop.platform)(client, job.shop, settings=config_of(self.runtime))
        try:
            return Result(outcome=await plugin.fulfil(job.request))
        except StorefrontRejected as exc:
            return Result(error=mask_text(str(exc))[:1000], permanent=True)
        except StorefrontUnavailable as exc:
            return Result(error=mask_text(str(exc))[:1000], retry_after=exc.retry_after)
        except Exception as exc:  # a bug or an answer we did not expect: retried
            log.exception("fulfilment_crashed", fulfilment=str(job.fulfilment_id))
            return Result(error=f"{type(exc).__name__}: {mask_text(str(exc))}"[:1000])

    async def send_due(self) -> int:
        jobs = await self.claim()
        if not jobs:
            return 0
        # one after another; a job not started within half the lease comes back unsent
        done = await one_by_one_within(self.lease, jobs, self.send)
        results = {job.fulfilment_id: (job, sent) for job, sent in done}
        async with self.runtime.db.transaction() as session:
            for row in await FulfilmentRepository(session).by_ids(list(results)):
                job, result = results[row.id]
                if row.status != "sending" or row.attempts != job.attempts:
                    # our lease ran out and another worker claimed it: its outcome stands
                    log.warning("fulfilment_claim_lost", fulfilment=str(row.id))
                elif result is None:
                    row.status, row.next_attempt_at = "pending", utcnow()
                    row.attempts -= 1  # nothing was sent
                else:
                    self._record(session.add, row, job, result)
        return len(jobs)

    def _record(
        self, add: Callable[[OrderEvent], None], row: Fulfilment, job: Job, result: Result
    ) -> None:
        now = utcnow()
        numbers = ", ".join(row.tracking_numbers)
        reason: str | None
        details: dict[str, Any]
        if result.outcome is not None:
            row.status = "sent" if result.outcome.result != "nothing_to_do" else "skipped"
            row.external_ref = result.outcome.external_ref
            row.sent_at, row.last_error = now, result.outcome.detail
            kind, reason = "fulfilment_written_back", f"{row.platform}: {numbers}"
            details = {"result": result.outcome.result, "ref": result.outcome.external_ref}
        else:
            row.last_error = result.error
            if result.permanent or row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                kind, reason = "fulfilment_failed", result.error
                details = {"attempts": row.attempts}
            else:
                row.status = "pending"
                wait = backoff(row.attempts)
                if result.retry_after is not None:
                    wait = max(wait, dt.timedelta(seconds=result.retry_after))
                row.next_attempt_at = now + wait
                log.info(
                    "fulfilment_retry",
                    fulfilment=str(row.id),
                    attempts=row.attempts,
                    wait=wait.total_seconds(),
                    error=result.error,
                )
                return
        add(
            OrderEvent(
                order_id=row.order_id,
                at=now,
                kind=kind,
                reason=reason,
                details={**details, "fulfilment_id": str(row.id)},
                cause=f"fulfilment:{row.id}",
                actor=ACTOR,
            )
        )

    async def run(self) -> None:
        try:
            await drain_forever(
                "fulfilments",
                self.send_due,
                self.signal,
                poll_seconds=1.0,
                batch_size=self.batch_size,
            )
        finally:
            await self.clients.close()


async def fulfilment_worker(runtime: ServiceRuntime) -> None:
    await FulfilmentWorker(runtime).run()
