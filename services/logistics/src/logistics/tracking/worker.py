"""Registration and polling, per provider account, in batches of the provider's size.

Each round takes the accounts with due parcels; for each, it leases a batch (SKIP
LOCKED, ``next_check_at`` pushed past the lease), calls the provider with no
transaction open, then applies the answers in a short transaction. What goes wrong
never drops a parcel: a provider down or slow backs off (the parcel is due again
later, breaker in the client), a rate limit waits as told, quota running out is an
alert (metric ``tracking_provider_problems``, a log line, the account's ``problem`` in
``GET /v1/tracking-accounts``) and registrations wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence

import structlog
from prometheus_client import Counter

from dropship_common.backoff import backoff_interval
from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import every
from logistics.accounts.repository import AccountRepository
from logistics.config import config_of
from logistics.models import Parcel, TrackingAccount
from logistics.parcels.repository import TimelineRepository
from logistics.parcels.service import Batch, apply_snapshot
from logistics.providers.base import (
    AuthRejected,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    Registration,
    TrackingProvider,
)
from logistics.providers.registry import clients_of
from logistics.tracking.repository import ScheduleRepository

log = structlog.get_logger(__name__)

LEASE = dt.timedelta(minutes=5)
NO_ACCOUNT_RETRY = dt.timedelta(hours=1)
QUOTA_RETRY = dt.timedelta(hours=1)

PROVIDER_PROBLEMS = Counter(
    "tracking_provider_problems",
    "Tracking provider calls that failed, by provider and kind (quota, auth, rate, down)",
    ["provider", "kind"],
)


async def check_due(
    runtime: ServiceRuntime, now: dt.datetime | None = None, *, max_batches: int = 50
) -> dict[str, int]:
    """One round: every account with due parcels, up to ``max_batches`` batches of
    registrations and of polls each. Returns counts for the log."""
    now = now or utcnow()
    counts = {"registered": 0, "polled": 0, "changed": 0, "failed": 0}
    async with runtime.db.transaction() as session:
        accounts = await ScheduleRepository(session).due_accounts(now)
    if None in accounts:
        await _adopt_orphans(runtime, now)
    # accounts side by side (each has its own rate); one account's batches in turn
    gate = asyncio.Semaphore(config_of(runtime).tracking_accounts_at_once)

    async def one(account_id: uuid.UUID) -> None:
        async with gate:
            done = await _account_round(runtime, account_id, now, max_batches)
        for key, value in done.items():
            counts[key] += value

    await asyncio.gather(*(one(a) for a in accounts if a is not None))
    return counts


async def _account_round(
    runtime: ServiceRuntime, account_id: uuid.UUID, now: dt.datetime, max_batches: int
) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with runtime.db.transaction() as session:
        account = await AccountRepository(session).get(account_id)
        if account is None:
            return counts
        session.expunge(account)
    provider = clients_of(runtime).provider(account)

    async def lane(registered: bool) -> None:
        step = _poll if registered else _register
        for _ in range(max_batches):
            async with runtime.db.transaction() as session:
                batch = await ScheduleRepository(session).lease_due(
                    account_id, now, provider.max_batch, LEASE, registered=registered
                )
                leased = [(p.id, p.tracking_number, p.carrier) for p in batch]
            if not leased:
                return
            done = await step(runtime, provider, account, leased, now)
            for key, value in done.items():
                counts[key] = counts.get(key, 0) + value
            if len(leased) < provider.max_batch or done.get("failed"):
                return

    # two lanes per stage: one batch is applied while the next call waits for its slot
    # (the account's rate is the client's, shared by the lanes)
    await asyncio.gather(lane(False), lane(False))
    await asyncio.gather(lane(True), lane(True))
    return counts


async def _adopt_orphans(runtime: ServiceRuntime, now: dt.datetime) -> None:
    """Parcels opened before any account was configured get the default one now."""
    async with runtime.db.transaction() as session:
        rows = await ScheduleRepository(session).lease_due(
            None, now, 500, NO_ACCOUNT_RETRY, registered=False
        )
        accounts = AccountRepository(session)
        for parcel in rows:
            account = await accounts.default_for(parcel.shop_id)
            if account is not None:
                parcel.account_id = account.id
                parcel.next_check_at = now
        if rows and all(p.account_id is None for p in rows):
            log.warning("no_tracking_account", parcels=len(rows))


async def _failed(
    runtime: ServiceRuntime,
    account: TrackingAccount,
    ids: Sequence[uuid.UUID],
    exc: ProviderError,
    now: dt.datetime,
) -> dict[str, int]:
    kind = {
        QuotaExhausted: "quota",
        AuthRejected: "auth",
        RateLimited: "rate",
    }.get(type(exc), "down")
    PROVIDER_PROBLEMS.labels(account.provider, kind).inc()
    log.warning("tracking_provider_failed", account=str(account.id), kind=kind, error=str(exc))
    async with runtime.db.transaction() as session:
        rows = await ScheduleRepository(session).locked(ids)
        for parcel in rows:
            parcel.check_failures += 1
            if isinstance(exc, RateLimited) and exc.retry_after:
                wait = dt.timedelta(seconds=exc.retry_after)
            elif isinstance(exc, QuotaExhausted | AuthRejected):
                wait = QUOTA_RETRY
            else:
                wait = backoff_interval(parcel.check_failures, base=30.0, cap=6 * 3600.0)
            parcel.next_check_at = now + wait
        if isinstance(exc, QuotaExhausted | AuthRejected):
            row = await AccountRepository(session).get(account.id, for_update=True)
            if row is not None:
                row.problem = "quota_exhausted" if kind == "quota" else "credentials_rejected"
                if kind == "quota":
                    row.quota_left = 0
                    row.quota_checked_at = now
    return {"failed": len(ids)}


async def _register(
    runtime: ServiceRuntime,
    provider: TrackingProvider,
    account: TrackingAccount,
    leased: Sequence[tuple[uuid.UUID, str, str | None]],
    now: dt.datetime,
) -> dict[str, int]:
    ids = [pid for pid, _, _ in leased]
    try:
        outcome = await provider.register([Registration(n, c) for _, n, c in leased])
    except ProviderError as exc:
        return await _failed(runtime, account, ids, exc, now)
    ok = set(outcome.accepted) | set(outcome.already)
    async with runtime.db.transaction() as session:
        for parcel in await ScheduleRepository(session).locked(ids):
            if parcel.tracking_number in ok:
                parcel.registered_at = now
                parcel.registration_error = None
                parcel.next_check_at = now + dt.timedelta(minutes=30)  # first poll
            else:
                reason = outcome.rejected.get(parcel.tracking_number, "not accepted")
                parcel.registration_error = reason[:200]
                parcel.check_failures += 1
                parcel.next_check_at = now + backoff_interval(
                    parcel.check_failures, base=600.0, cap=86400.0
                )
        if account.problem:
            row = await AccountRepository(session).get(account.id, for_update=True)
            if row is not None:
                row.problem = None
    return {"registered": len(ok)}


async def _poll(
    runtime: ServiceRuntime,
    provider: TrackingProvider,
    account: TrackingAccount,
    leased: Sequence[tuple[uuid.UUID, str, str | None]],
    now: dt.datetime,
) -> dict[str, int]:
    ids = [pid for pid, _, _ in leased]
    try:
        outcome = await provider.fetch([(n, c) for _, n, c in leased])
    except ProviderError as exc:
        return await _failed(runtime, account, ids, exc, now)
    by_number = {s.number: s for s in outcome.snapshots}
    unknown = set(outcome.unknown)
    changed = 0
    async with runtime.db.transaction() as session:
        rows: list[Parcel] = await ScheduleRepository(session).locked(ids)
        keys = await TimelineRepository(session).keys_of([p.id for p in rows])
        batch = Batch()
        for parcel in rows:
            snapshot = by_number.get(parcel.tracking_number)
            if snapshot is not None:
                changed += await apply_snapshot(
                    session,
                    runtime.outbox,
                    parcel,
                    snapshot,
                    source="poll",
                    cause=f"poll:{account.provider}",
                    now=now,
                    has_push=provider.has_push,
                    known_keys=keys.setdefault(parcel.id, set()),
                    batch=batch,
                )
            elif parcel.tracking_number in unknown:
                parcel.registered_at = None  # the provider lost it: register again
                parcel.next_check_at = now
            else:
                parcel.next_check_at = now + dt.timedelta(hours=1)
        await batch.write(session, runtime.outbox)
    return {"polled": len(rows), "changed": changed}


async def tracking_worker(runtime: ServiceRuntime) -> None:
    await every(
        "tracking_checks", config_of(runtime).poll_interval_seconds, lambda: check_due(runtime)
    )
