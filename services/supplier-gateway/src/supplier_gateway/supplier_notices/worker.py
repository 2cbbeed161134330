"""Delivers http suppliers' case notices (``POST {url}/notices``): claimed with a lease
in a short transaction, sent with none open, the outcome recorded after. At least once,
with the same ``webhook-id`` every time (the supplier dedupes); later on 429/5xx with
backoff (or ``Retry-After``), ``failed`` for an operator on a refusal or after
``MAX_ATTEMPTS``."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import structlog

from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from supplier_gateway.adapters.base import NoticeChannel, NoticeRefused, SupplierUnavailable
from supplier_gateway.adapters.calls import CallLog
from supplier_gateway.adapters.registry import AdapterRegistry
from supplier_gateway.config import config_of
from supplier_gateway.domain.placement import next_attempt, retry_delay
from supplier_gateway.models import SupplierNotice, SupplierOrderEvent
from supplier_gateway.placement.worker import make_registry
from supplier_gateway.supplier_notices.repository import SupplierNoticeRepository
from supplier_gateway.supplier_notices.service import NOTICE_FLAG

log = structlog.get_logger(__name__)

CAUSE = "system:supplier_notices"
MAX_ATTEMPTS = 12
BATCH = 20


class NoticeSender:
    def __init__(self, runtime: ServiceRuntime, registry: AdapterRegistry) -> None:
        self.rt = runtime
        self.registry = registry
        self.signal = CommitSignal(runtime.db, NOTICE_FLAG)

    async def send_due(self) -> int:
        s = config_of(self.rt)
        lease = dt.timedelta(seconds=s.placement_lease_seconds)
        async with self.rt.db.transaction() as session:
            claimed = [
                (n.case_id, n.leased_until, s_.id, s_.adapter, s_.credentials, n.payload)
                for n, s_ in await SupplierNoticeRepository(session).claim_due(
                    utcnow(), BATCH, lease
                )
            ]
        await asyncio.gather(*(self._one(*c) for c in claimed))
        return len(claimed)

    async def _one(
        self,
        case_id: Any,
        lease: dt.datetime | None,
        supplier_id: Any,
        kind: str,
        credentials: dict[str, Any] | None,
        payload: dict[str, Any],
    ) -> None:
        calls = CallLog()
        outcome, error, retry_after = "sent", None, None
        try:
            adapter = self.registry.for_supplier(supplier_id, kind, credentials)
            if not isinstance(adapter, NoticeChannel):
                raise NoticeRefused(f"a {kind} supplier has no notice call")
            with calls.active():
                await adapter.notify(f"notice-{case_id}", payload)
        except (NoticeRefused, KeyError, ValueError) as exc:
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        except SupplierUnavailable as exc:
            outcome, error, retry_after = "retry", exc.reason, exc.retry_after
        except Exception as exc:  # a 5xx, a timeout, a dropped connection: later
            outcome, error = "retry", f"{type(exc).__name__}: {exc}"[:500]
        await self._record(case_id, lease, outcome, error, retry_after, calls.calls)

    async def _record(
        self,
        case_id: Any,
        lease: dt.datetime | None,
        outcome: str,
        error: str | None,
        retry_after: float | None,
        calls: list[dict[str, Any]],
    ) -> None:
        s = config_of(self.rt)
        now = utcnow()
        async with self.rt.db.transaction() as session:
            notice = await SupplierNoticeRepository(session).locked(case_id)
            if notice is None or notice.status != "pending" or notice.leased_until != lease:
                return  # another worker claimed it after this lease ran out
            notice.leased_until = None
            notice.attempts += 1
            notice.last_error = error
            if outcome == "retry" and notice.attempts < MAX_ATTEMPTS:
                delay = retry_delay(
                    notice.attempts,
                    base=s.placement_retry_base_seconds,
                    cap=s.placement_retry_cap_seconds,
                    retry_after=retry_after,
                )
                notice.next_attempt_at = next_attempt(now, delay)
            else:
                notice.status = "sent" if outcome == "sent" else "failed"
                notice.next_attempt_at = None
                notice.sent_at = now if outcome == "sent" else None
            session.add(_event(notice, now, outcome, error, calls))

    async def run(self) -> None:
        try:
            await drain_forever(
                "supplier_notices",
                self.send_due,
                self.signal,
                poll_seconds=config_of(self.rt).placement_poll_seconds,
                batch_size=BATCH,
            )
        finally:
            await self.registry.aclose()


def _event(
    notice: SupplierNotice,
    now: dt.datetime,
    outcome: str,
    error: str | None,
    calls: list[dict[str, Any]],
) -> SupplierOrderEvent:
    details: dict[str, Any] = {"case_id": str(notice.case_id), "outcome": outcome, "calls": calls}
    if error:
        details["error"] = error
    return SupplierOrderEvent(
        supplier_order_id=notice.supplier_order_id,
        at=now,
        kind="supplier_notice_delivery",
        details=details,
        cause=CAUSE,
    )


async def supplier_notice_worker(runtime: ServiceRuntime) -> None:
    await NoticeSender(runtime, make_registry(runtime)).run()
