"""Providers' pushes: ``POST /webhooks/17track/{account_id}`` and
``POST /webhooks/aftership/{account_id}``.

A push is verified by the provider's documented signature (17TRACK's ``sign``,
AfterShip's ``aftership-hmac-sha256``) before anything is stored: a forged one is
refused (401) with nothing written. A verified push is stored whole and answered at
once; a worker applies it after the commit (woken by the commit in this process, by
NOTIFY from another), so the provider never waits on our processing and a push is
never lost to a crash mid-way. Applying twice changes nothing (scans are deduplicated,
statuses never move back), so a retried push is harmless.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.backoff import backoff_interval
from dropship_common.db import utcnow
from dropship_common.deps import Runtime
from dropship_common.errors import PATH_ERRORS, InvalidSignature, NotFound, error_responses
from dropship_common.notify import listen_forever
from dropship_common.observability import mask_text
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from logistics.config import config_of
from logistics.models import Parcel, TrackingPush
from logistics.parcels.repository import ParcelRepository, TimelineRepository
from logistics.parcels.service import Batch, apply_snapshot
from logistics.providers.registry import provider_class
from logistics.tracking.push_intake import AccountCache, PushWriter
from logistics.tracking.repository import PushRepository

log = structlog.get_logger(__name__)

PUSH_FLAG = "tracking_pushes_to_apply"
PUSH_CHANNEL = "dropship_logistics_pushes"
BATCH = 50
MAX_ATTEMPTS = 12

PUSHES = Counter(
    "tracking_pushes", "Provider pushes, by provider and outcome", ["provider", "outcome"]
)

router = APIRouter(prefix="/webhooks", tags=["provider pushes"])


async def _receive(
    provider: str, account_id: uuid.UUID, request: Request, rt: ServiceRuntime
) -> JSONResponse:
    body = await request.body()
    intake = intake_of(rt)
    found = await intake.accounts.get(account_id)
    if found is None or found.provider != provider or not found.active:
        PUSHES.labels(provider, "unknown_account").inc()
        raise NotFound("no such tracking account")
    if not provider_class(provider).verify_push(found.account, request.headers, body):
        PUSHES.labels(provider, "bad_signature").inc()
        log.warning("tracking_push_bad_signature", provider=provider, account=str(account_id))
        raise InvalidSignature("the push's signature does not match its body")
    await intake.writer.store(account_id, provider, body)
    PUSHES.labels(provider, "stored").inc()
    return JSONResponse({"code": 0, "message": "received"})


PUSH_ERRORS = error_responses(
    {**PATH_ERRORS, 401: "the signature does not match the body (invalid_signature)"}
)


@router.post("/17track/{account_id}", status_code=200, responses=PUSH_ERRORS)
async def seventeen_track_push(
    account_id: uuid.UUID, request: Request, rt: Runtime
) -> JSONResponse:
    return await _receive("17track", account_id, request, rt)


@router.post("/aftership/{account_id}", status_code=200, responses=PUSH_ERRORS)
async def aftership_push(account_id: uuid.UUID, request: Request, rt: Runtime) -> JSONResponse:
    return await _receive("aftership", account_id, request, rt)


async def apply_pushes(
    session: AsyncSession, rt: ServiceRuntime, pushes: Sequence[TrackingPush], now: dt.datetime
) -> int:
    """Apply stored pushes to the parcels they name (of their account), in one go: the
    parcels locked and their timeline keys read in one query each. Numbers we do not
    follow are ignored (another shop's, or stopped). Returns the status changes."""
    parsed = [(push, provider_class(push.provider).parse_push(push.body)) for push in pushes]
    pairs = {(push.account_id, s.number) for push, snapshots in parsed for s in snapshots}
    parcels = await ParcelRepository(session).by_numbers(sorted(pairs), for_update=True)
    by_pair: dict[tuple[uuid.UUID | None, str], list[Parcel]] = {}
    for parcel in parcels:
        by_pair.setdefault((parcel.account_id, parcel.tracking_number), []).append(parcel)
    keys = await TimelineRepository(session).keys_of([p.id for p in parcels])
    batch = Batch()
    changed = 0
    for push, snapshots in parsed:
        for snapshot in snapshots:
            for parcel in by_pair.get((push.account_id, snapshot.number), []):
                changed += await apply_snapshot(
                    session,
                    rt.outbox,
                    parcel,
                    snapshot,
                    source="push",
                    cause=f"push:{push.provider}:{push.id}",
                    now=now,
                    known_keys=keys.setdefault(parcel.id, set()),
                    batch=batch,
                )
    await batch.write(session, rt.outbox)
    return changed


@dataclass
class PushIntake:
    accounts: AccountCache
    writer: PushWriter


def intake_of(rt: ServiceRuntime) -> PushIntake:
    """This process's account cache and push writer (made on first use)."""
    found = rt.state.get("push_intake")
    if found is None:

        def committed() -> None:
            signal = rt.state.get("push_signal")
            if isinstance(signal, CommitSignal):
                signal.set()  # this process's push worker: apply at once

        found = rt.state["push_intake"] = PushIntake(
            AccountCache(rt.db), PushWriter(rt.db, PUSH_CHANNEL, committed)
        )
    assert isinstance(found, PushIntake)
    return found


class PushWorker:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.rt = runtime
        self.signal = CommitSignal(runtime.db, PUSH_FLAG)
        runtime.state["push_signal"] = self.signal

    async def apply_due(self) -> int:
        now = utcnow()
        async with self.rt.db.transaction() as session:
            pushes = await PushRepository(session).claim_pending(now, BATCH)
            try:
                async with session.begin_nested():
                    await apply_pushes(session, self.rt, pushes, now)
            except Exception:
                # one of them fails: each on its own, so the others still apply
                for push in pushes:
                    await self._one(session, push, now)
            else:
                for push in pushes:
                    self._done(push, now)
            return len(pushes)

    def _done(self, push: TrackingPush, now: dt.datetime) -> None:
        push.processed_at = now
        push.attempts += 1
        PUSHES.labels(push.provider, "applied").inc()

    async def _one(self, session: AsyncSession, push: TrackingPush, now: dt.datetime) -> None:
        push_id, attempts, provider = push.id, push.attempts, push.provider
        try:
            async with session.begin_nested():
                await apply_pushes(session, self.rt, [push], now)
        except Exception as exc:
            error = f"{type(exc).__name__}: {mask_text(str(exc))}"[:2000]
            push.attempts = attempts + 1
            push.error = error
            log.warning("tracking_push_failed", push=str(push_id), error=error)
            if push.attempts >= MAX_ATTEMPTS or isinstance(exc, ValueError):
                push.processed_at = now  # malformed, or failing for good: kept
                PUSHES.labels(provider, "failed").inc()
            else:
                push.next_attempt_at = now + backoff_interval(
                    push.attempts, base=config_of(self.rt).push_retry_base_seconds, cap=3600.0
                )
            return
        self._done(push, now)

    async def run(self) -> None:
        await drain_forever(
            "tracking-pushes", self.apply_due, self.signal, poll_seconds=5.0, batch_size=BATCH
        )


async def push_worker(runtime: ServiceRuntime) -> None:
    worker = PushWorker(runtime)
    if not runtime.db.is_sqlite:
        runtime.spawn(
            listen_forever(runtime.db.url, PUSH_CHANNEL, worker.signal.set), "push-listener"
        )
    await worker.run()
