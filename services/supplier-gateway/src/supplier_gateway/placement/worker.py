"""The placement worker: pending supplier orders go to their suppliers, exactly once.

Claim due orders in a short transaction (locked, leased); call the suppliers with no
transaction open; record each outcome in its own transaction. A call whose outcome is
unknown (a timeout after sending, a dropped connection, a 5xx) is resolved by looking
the order up by our number, now and before any later try; the flag ``needs_lookup`` is
committed *before* each call, so a worker killed mid-call also leaves a lookup for the
next one. Failures wait with backoff and jitter (or what the supplier asked for:
Retry-After, a breaker's cool-down); a supplier down for minutes only delays its
orders."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from dropship_common.errors import AppError
from dropship_common.http import CircuitOpen, OutboundError, OutcomeUnknown, RateLimiter
from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import CommitSignal, drain_forever
from supplier_gateway.adapters.base import (
    Lookup,
    Placed,
    PlacementRequest,
    PlacementUnknown,
    Refused,
    SupplierAdapter,
    SupplierError,
    SupplierMisconfigured,
    SupplierUnavailable,
)
from supplier_gateway.adapters.calls import CallLog
from supplier_gateway.adapters.rate_limits import DbRateLimiter
from supplier_gateway.adapters.registry import OUTSIDE_KINDS, AdapterRegistry
from supplier_gateway.adapters.token_store import DbTokenStore
from supplier_gateway.config import config_of
from supplier_gateway.domain.decisions import (
    Attempt,
    CancelAnswer,
    CancelResult,
    CancelState,
    Limits,
    PlacementState,
    decide_cancellation,
    decide_placement,
)
from supplier_gateway.domain.notice import supplier_view
from supplier_gateway.domain.supplier_order import OPEN, PLACING, Status
from supplier_gateway.models import SupplierOrder, SupplierOrderEvent
from supplier_gateway.placement.attention import (
    flag_cancellation,
    hand_to_operator,
)
from supplier_gateway.placement.repository import Claimed, PlacementRepository
from supplier_gateway.reships.outcomes import reship_failed
from supplier_gateway.supplier_orders.cancellation import answer_cancellation
from supplier_gateway.supplier_orders.service import PLACE_FLAG, mark_placed
from supplier_gateway.supplier_orders.supplier_updates import report_shipped
from supplier_gateway.supplier_orders.transitions import move

log = structlog.get_logger(__name__)

CAUSE = "system:placement"
PLACING_VALUES = frozenset(st.value for st in PLACING)


@dataclass
class Outcome:
    result: str  # placed | refused | retry
    supplier_ref: str | None = None
    found_by_lookup: bool = False
    unresolved: bool = False  # a call may have created it: look up before the next one
    retry_after: float | None = None
    error: str | None = None
    lookup: Lookup | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    # the attempt's last lookup: True found or surely not there, False answered but
    # settled nothing (see placement.attention), None none made or it was refused
    lookup_settled: bool | None = None
    lookup_answer: str | None = None  # what an unsettled lookup got
    # a call whose outcome is unknown, after which the supplier does not show the order:
    # surely not there *now*, but the same call may fail the same way again (CJ's "order
    # create fail", a 5xx on every create), so it counts like an unsettled lookup
    placed_unknown: bool = False
    by_supplier: bool = False  # a refusal the supplier gave (not our configuration)

    @property
    def settled_nothing(self) -> bool:
        return self.lookup_settled is False or self.placed_unknown

    @property
    def attempt(self) -> Attempt:
        """What the domain's decision reads (without the calls and the lookup)."""
        return Attempt(
            result=self.result,
            supplier_ref=self.supplier_ref,
            unresolved=self.unresolved,
            retry_after=self.retry_after,
            error=self.error,
            lookup_settled=self.lookup_settled,
            lookup_answer=self.lookup_answer,
            placed_unknown=self.placed_unknown,
        )


# a lookup that failed with these was refused or never got through: it counts for nothing
NOT_ASKED = (
    SupplierUnavailable,
    SupplierMisconfigured,
    CircuitOpen,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass
class _Looked:
    """What the lookups of one attempt settled (the last one's word counts)."""

    settled: bool | None = None
    answer: str | None = None

    async def up(self, adapter: SupplierAdapter, our_number: str) -> Lookup:
        try:
            found = await adapter.lookup(our_number)
        except NOT_ASKED:
            self.settled, self.answer = None, None
            raise
        except Exception as exc:
            self.settled, self.answer = False, f"{type(exc).__name__}: {exc}"[:500]
            raise
        self.settled, self.answer = True, None
        return found


def _found(found: Lookup, calls: CallLog, error: str | None = None) -> Outcome:
    return Outcome(
        "placed",
        found.supplier_ref,
        found_by_lookup=True,
        error=error,
        lookup=found,
        calls=calls.calls,
        lookup_settled=True,
    )


async def attempt(adapter: SupplierAdapter, claimed: Claimed) -> Outcome:
    """One try: look up first if an earlier call is unresolved, else (or if not there)
    place; an unknown outcome is looked up at once. Never raises for supplier trouble."""
    outcome = await _attempt(adapter, claimed, looked := _Looked())
    outcome.lookup_settled, outcome.lookup_answer = looked.settled, looked.answer
    return outcome


async def _attempt(adapter: SupplierAdapter, claimed: Claimed, looked: _Looked) -> Outcome:
    request = PlacementRequest(
        claimed.supplier_order_id, supplier_view(claimed.notice), claimed.ship_from_country
    )
    calls = CallLog()
    unresolved = claimed.needs_lookup
    with calls.active():
        try:
            if unresolved:
                found = await looked.up(adapter, request.our_number)
                if found.found:
                    return _found(found, calls)
                unresolved = False
            try:
                result = await adapter.place(request)
            except (OutcomeUnknown, PlacementUnknown) as exc:
                unresolved = True
                error = f"outcome unknown: {exc}"
                found = await looked.up(adapter, request.our_number)
                if found.found:
                    return _found(found, calls, error)
                return Outcome(
                    "retry", unresolved=True, error=error, calls=calls.calls, placed_unknown=True
                )
            if isinstance(result, Placed):
                return Outcome("placed", result.supplier_ref, calls=calls.calls)
            assert isinstance(result, Refused)
            return Outcome("refused", error=result.reason, calls=calls.calls, by_supplier=True)
        except SupplierMisconfigured as exc:
            return Outcome("refused", unresolved=unresolved, error=str(exc), calls=calls.calls)
        except SupplierUnavailable as exc:
            return Outcome(
                "retry",
                unresolved=unresolved,
                retry_after=exc.retry_after,
                error=exc.reason,
                calls=calls.calls,
            )
        except CircuitOpen as exc:
            return Outcome(
                "retry",
                unresolved=unresolved,
                retry_after=exc.retry_in,
                error=str(exc),
                calls=calls.calls,
            )
        except (OutcomeUnknown, OutboundError, httpx.HTTPError, SupplierError, ValueError) as exc:
            # a lookup that failed, or a call that never got through
            return Outcome(
                "retry",
                unresolved=True if isinstance(exc, OutcomeUnknown) else unresolved,
                error=f"{type(exc).__name__}: {exc}"[:500],
                calls=calls.calls,
            )
        except Exception as exc:  # an adapter bug must not stop the other orders
            log.exception(
                "placement_attempt_crashed", supplier_order=str(claimed.supplier_order_id)
            )
            return Outcome(
                "retry",
                unresolved=True,
                error=f"{type(exc).__name__}: {exc}"[:500],
                calls=calls.calls,
            )


REFUSED_LOOKUP_DAYS = 120  # DOMAIN.md: the longest a parcel may take to arrive


def _refused_lookup_over(row: SupplierOrder, found: Lookup | None, now: dt.datetime) -> str | None:
    """Why a cancelled order the supplier would not stop need not be looked up again
    (None: look again). Open orders stay looked up until they ship or are cancelled; a
    refused cancellation has no such end, so it stops when the supplier no longer has
    the order or when the parcel would have arrived long ago."""
    if found is not None and not found.found:
        return "the supplier no longer has the order"
    if now - row.created_at > dt.timedelta(days=REFUSED_LOOKUP_DAYS):
        return f"no tracking within {REFUSED_LOOKUP_DAYS} days"
    return None


def _reship_refused(row: SupplierOrder, outcome: Outcome) -> bool:
    """A reship that surely did not reach its supplier and will not without an operator
    (refused as sent, or our credentials refused)."""
    return (
        row.case_id is not None
        and row.status == Status.PENDING.value
        and outcome.result == "refused"
        and not outcome.unresolved
    )


def _event(
    row: SupplierOrder, now: dt.datetime, kind: str, details: dict[str, Any]
) -> SupplierOrderEvent:
    """An entry on the supplier order's timeline, made by this worker."""
    return SupplierOrderEvent(
        supplier_order_id=row.id, at=now, kind=kind, details=details, cause=CAUSE
    )


class Placer:
    def __init__(self, runtime: ServiceRuntime, registry: AdapterRegistry) -> None:
        self.rt = runtime
        self.registry = registry
        self.signal = CommitSignal(runtime.db, PLACE_FLAG)

    async def place_due(self) -> int:
        s = config_of(self.rt)
        async with self.rt.db.transaction() as session:
            claimed = await PlacementRepository(session).claim_due(
                utcnow(),
                OUTSIDE_KINDS,
                s.placement_batch_size,
                dt.timedelta(seconds=s.placement_lease_seconds),
            )
            cancels = await PlacementRepository(session).claim_cancellations_due(
                utcnow(),
                OUTSIDE_KINDS,
                s.placement_batch_size,
                dt.timedelta(seconds=s.placement_lease_seconds),
            )
            syncs = await PlacementRepository(session).claim_syncs_due(
                utcnow(),
                OUTSIDE_KINDS,
                s.placement_batch_size,
                dt.timedelta(seconds=s.placement_lease_seconds),
            )
        await asyncio.gather(
            *(self._one(c) for c in claimed),
            *(self._cancel(c) for c in cancels),
            *(self._sync(c) for c in syncs),
        )
        return max(len(claimed), len(cancels), len(syncs))

    async def _sync(self, claimed: Claimed) -> None:
        """Look an open order up at the supplier: tracking that never reached us (a lost
        webhook) is applied; otherwise look again after ``supplier_sync_seconds``."""
        calls = CallLog()
        found: Lookup | None = None
        error = None
        try:
            adapter = self.registry.for_supplier(
                claimed.supplier_id, claimed.adapter, claimed.credentials
            )
            with calls.active():
                found = await adapter.lookup(str(claimed.supplier_order_id))
        except Exception as exc:  # looked up again next time
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = utcnow()
        async with self.rt.db.transaction() as session:
            row, _ = await PlacementRepository(session).release(claimed)
            if row.status not in {s.value for s in OPEN} and not (
                row.status == Status.CANCELLED.value and row.cancel_refused
            ):
                return  # shipped or cancelled meanwhile: its own path set what is next
            row.next_attempt_at = now + dt.timedelta(
                seconds=config_of(self.rt).supplier_sync_seconds
            )
            if found is not None and found.supplier_ref and not row.supplier_ref:
                row.supplier_ref = found.supplier_ref
            if found is not None:
                error = await self._ship_found(session, row, found, claimed.adapter) or error
            if row.status == Status.CANCELLED.value and row.next_attempt_at is not None:
                given_up = _refused_lookup_over(row, found, now)
                if given_up:
                    row.next_attempt_at = None
                    session.add(_event(row, now, "supplier_sync_stopped", {"reason": given_up}))
            if error or (found is not None and found.shipped):
                details: dict[str, Any] = {"calls": calls.calls}
                if found is not None:
                    details["supplier_status"] = found.status
                if error:
                    details["error"] = error
                session.add(_event(row, now, "supplier_sync", details))

    async def _ship_found(
        self, session: AsyncSession, row: SupplierOrder, found: Lookup | None, adapter: str
    ) -> str | None:
        """Ship with the tracking a lookup found, if it says shipped (then nothing more is
        due); the refusal when we refuse that tracking (malformed, other numbers)."""
        if found is None or not found.shipped or not found.tracking_numbers:
            return None
        carrier = found.carrier or adapter
        try:
            await report_shipped(
                session,
                self.rt.outbox,
                row,
                CAUSE,
                carrier,
                found.tracking_numbers,
                found.tracking_urls,
            )
        except AppError as exc:
            return f"tracking refused: {exc.message} {exc.details or ''}".strip()
        row.next_attempt_at = None
        return None

    async def _cancel(self, claimed: Claimed) -> None:
        """Tell the supplier an order cancelled here is off: done, too late (recorded
        for an operator), or tried again later."""
        calls = CallLog()
        result: CancelResult = "cancelled"
        error: str | None = None
        retry_after: float | None = None
        unsettled = False  # the supplier answered, and the answer settled nothing
        try:
            adapter = self.registry.for_supplier(
                claimed.supplier_id, claimed.adapter, claimed.credentials
            )
            with calls.active():
                if not await adapter.cancel(str(claimed.supplier_order_id), claimed.supplier_ref):
                    result = "too_late"
        except (KeyError, ValueError, SupplierMisconfigured) as exc:
            result, error = "not_possible", str(exc)
        except SupplierUnavailable as exc:
            result, error, retry_after = "retry", exc.reason, exc.retry_after
        except CircuitOpen as exc:
            result, error, retry_after = "retry", str(exc), exc.retry_in
        except Exception as exc:
            result, error = "retry", f"{type(exc).__name__}: {exc}"[:500]
            unsettled = not isinstance(exc, NOT_ASKED)
        now = utcnow()
        answer = CancelAnswer(result, error, retry_after, unsettled)
        async with self.rt.db.transaction() as session:
            row, _ = await PlacementRepository(session).release(claimed)
            state = CancelState(row.place_attempts, row.unsettled_lookups, row.last_error)
            decision = decide_cancellation(state, answer, now, self.limits())
            row.place_attempts = decision.attempts
            row.unsettled_lookups = decision.unsettled_lookups
            row.next_attempt_at = decision.next_attempt_at
            row.last_error = decision.last_error
            if decision.cancel_refused:
                row.cancel_refused = True
            details = {**decision.details, "calls": calls.calls}
            if decision.flag_for_operator:  # still tried, but no longer silently
                flag_cancellation(row, claimed.adapter, error, details)
            session.add(_event(row, now, "supplier_cancel", details))
            if decision.answered:  # the supplier has answered: maybe the order's answer
                await session.flush()
                rows = await PlacementRepository(session).of_order(row.order_id)
                await answer_cancellation(session, self.rt.outbox, row.order_id, rows, CAUSE)

    def limits(self) -> Limits:
        s = config_of(self.rt)
        return Limits(
            retry_base_seconds=s.placement_retry_base_seconds,
            retry_cap_seconds=s.placement_retry_cap_seconds,
            max_unsettled_lookups=s.placement_max_unsettled_lookups,
            sync_seconds=s.supplier_sync_seconds,
        )

    async def _one(self, claimed: Claimed) -> None:
        try:
            adapter = self.registry.for_supplier(
                claimed.supplier_id, claimed.adapter, claimed.credentials
            )
        except (KeyError, ValueError) as exc:
            # parked; an earlier call whose outcome is unknown is still looked up first
            error = f"supplier not configured: {exc}"
            outcome = Outcome("refused", unresolved=claimed.needs_lookup, error=error)
        else:
            outcome = await attempt(adapter, claimed)
        await self.record(claimed, outcome)

    async def record(self, claimed: Claimed, outcome: Outcome) -> None:
        s = config_of(self.rt)
        now = utcnow()
        async with self.rt.db.transaction() as session:
            row, supplier = await PlacementRepository(session).release(claimed)
            number = row.place_attempts + 1
            details: dict[str, Any] = {
                "attempt": number,
                "adapter": claimed.adapter,
                "outcome": outcome.result,
                "calls": outcome.calls,
            }
            if outcome.found_by_lookup:
                details["found_by_lookup"] = True
            if outcome.error:
                details["error"] = outcome.error
            row.place_attempts = number
            answer = False
            back: dict[str, Any] | None = None
            to_operator = False
            if row.status not in PLACING_VALUES:
                # cancelled while the call was out: if the supplier has it now, it is
                # told (the cancellation pass picks it up)
                details["note"] = f"the supplier order became {row.status} meanwhile"
                row.supplier_ref = outcome.supplier_ref or row.supplier_ref
                sent = outcome.result == "placed" or outcome.unresolved
                if sent and row.status == Status.CANCELLED.value:
                    # a refusal given while this call was out was given for an order
                    # the supplier did not have yet: it is told again
                    row.cancel_refused = False
                    row.next_attempt_at = now
                elif row.status in {st.value for st in OPEN}:
                    # the supplier's own report overtook this call: looked up like any
                    # open order, in case its tracking webhook or callback is lost
                    row.next_attempt_at = now + dt.timedelta(seconds=s.supplier_sync_seconds)
                else:
                    row.next_attempt_at = None
                    if row.status == Status.CANCELLED.value and not sent:
                        # the supplier never had it: nobody is left to tell, the answer
                        # that waited for this call can go
                        row.needs_lookup = False
                        answer = True
                log.warning("placement_outcome_after_status_change", **details)
            else:
                state = PlacementState(
                    Status(row.status), number, row.supplier_ref, row.unsettled_lookups
                )
                decision = decide_placement(state, outcome.attempt, now, self.limits())
                row.supplier_ref = decision.supplier_ref
                row.needs_lookup = decision.needs_lookup
                row.last_error = decision.last_error
                row.next_attempt_at = decision.next_attempt_at
                row.unsettled_lookups = decision.unsettled_lookups
                details.update(decision.details)
                if decision.back_to_pending:
                    # the supplier now answers surely: not there; placed again as usual
                    back = {"reason": decision.back_to_pending}
                elif decision.to_operator:
                    to_operator = True
            session.add(_event(row, now, "placement_attempt", details))
            if back is not None:
                move(session, row, Status.PENDING, CAUSE, back)
            elif _reship_refused(row, outcome):
                await self._fail_reship(session, row, outcome)
            elif to_operator:
                await hand_to_operator(session, row, claimed.adapter, CAUSE, now)
            if answer:
                await session.flush()
                rows = await PlacementRepository(session).of_order(row.order_id)
                await answer_cancellation(session, self.rt.outbox, row.order_id, rows, CAUSE)
            if row.status in PLACING_VALUES and outcome.result == "placed":
                via = claimed.adapter
                await mark_placed(session, self.rt.outbox, row, supplier, CAUSE, via=via)
                found = outcome.lookup
                # found only after it had shipped (a long outage): tracking too; tracking
                # we refuse leaves the placement standing, on the timeline for an operator
                refused = await self._ship_found(session, row, found, claimed.adapter)
                if refused and found is not None:
                    details = {"supplier_status": found.status, "error": refused}
                    session.add(_event(row, now, "supplier_sync", details))

    async def _fail_reship(
        self, session: AsyncSession, row: SupplierOrder, outcome: Outcome
    ) -> None:
        """A reship is not parked for an operator like an original: the case goes back
        to its agent at once (who may name a backup supplier)."""
        assert row.case_id is not None
        move(session, row, Status.CANCELLED, CAUSE, {"reason": "reship refused"})
        row.next_attempt_at = None
        code = "rejected" if outcome.by_supplier else "supplier_error"
        message = outcome.error or "refused"
        await reship_failed(session, self.rt.outbox, row.case_id, code, message, CAUSE, row)

    async def run(self) -> None:
        s = config_of(self.rt)
        try:
            await drain_forever(
                "supplier_placement",
                self.place_due,
                self.signal,
                poll_seconds=s.placement_poll_seconds,
                batch_size=s.placement_batch_size,
            )
        finally:
            await self.registry.aclose()


async def placement_worker(runtime: ServiceRuntime) -> None:
    await Placer(runtime, make_registry(runtime)).run()


def make_registry(runtime: ServiceRuntime) -> AdapterRegistry:
    """Adapters whose tokens and rate limits are kept in this service's database (on
    PostgreSQL: shared by replicas; SQLite is one process, its buckets suffice)."""
    db = runtime.db
    limiters = None
    if not db.is_sqlite:

        def limiters(supplier_id: uuid.UUID, rate: float) -> RateLimiter:
            # a call queued past a quarter of the lease is tried again later instead
            wait = config_of(runtime).placement_lease_seconds / 4
            return DbRateLimiter(db, f"supplier:{supplier_id}", rate, max_wait=wait)

    return AdapterRegistry(
        config_of(runtime),
        token_stores=lambda supplier_id: DbTokenStore(db, supplier_id),
        rate_limiters=limiters,
    )
