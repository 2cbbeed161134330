"""Bounded uncertainty: lookups that settle nothing hand the order to an operator.

After a call whose outcome is unknown, the order is looked up by our number before it is
sent again. A lookup answered with neither the order nor a sure "no such order" (an
undocumented error code, a 5xx, a timeout) settles nothing; a refused one (429, busy,
circuit open) does not count. After ``placement_max_unsettled_lookups`` of them in a
row, for any adapter, the supplier order becomes ``needs_attention``: with the answers
received on its timeline, counted, logged. It is still looked up (at the backoff's
slowest pace), so a supplier that answers surely again settles it by itself; an operator
settles it with ``POST /v1/supplier-orders/{id}/resolve``.

A cancellation the supplier's answers never settle (CJ needs its own order id, found by
a lookup) is still tried at the backoff's pace, but after as many such answers it is
counted and logged the same way, and its timeline says so."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from supplier_gateway.domain.decisions import UNSETTLED
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.models import SupplierOrder
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository
from supplier_gateway.supplier_orders.transitions import move

log = structlog.get_logger(__name__)

NEEDS_ATTENTION = Counter(
    "supplier_orders_needs_attention",
    "Supplier orders left to an operator: lookups after an unknown outcome settled nothing",
    ["adapter", "stage"],  # stage: placement | cancellation
)


async def answers_received(
    session: AsyncSession, row: SupplierOrder, count: int
) -> list[dict[str, Any]]:
    """The last ``count`` unsettled lookups on the timeline: when, and what came back."""
    events = await SupplierOrderRepository(session).last_events(row.id, "placement_attempt", count)
    return [
        {"at": e.at.isoformat(), "answer": (e.details or {}).get("lookup_answer")}
        for e in events
        if (e.details or {}).get("lookup") == UNSETTLED
    ]


async def hand_to_operator(
    session: AsyncSession, row: SupplierOrder, adapter: str, cause: str, now: dt.datetime
) -> None:
    """pending -> needs_attention, with the answers that settled nothing (the attempt that
    made it is flushed first, so its answer is among them)."""
    await session.flush()
    answers = await answers_received(session, row, row.unsettled_lookups)
    move(
        session,
        row,
        Status.NEEDS_ATTENTION,
        cause,
        {
            "reason": f"{row.unsettled_lookups} attempts in a row settled nothing (lookups"
            " without a sure answer, or calls whose outcome is unknown while the supplier"
            " does not show the order): does the supplier have this order?",
            "unsettled_lookups": row.unsettled_lookups,
            "answers": answers,
        },
    )
    NEEDS_ATTENTION.labels(adapter=adapter, stage="placement").inc()
    log.warning(
        "supplier_order_needs_attention",
        supplier_order=str(row.id),
        order=str(row.order_id),
        adapter=adapter,
        unsettled_lookups=row.unsettled_lookups,
        last_answer=answers[-1]["answer"] if answers else None,
        at=now.isoformat(),
    )


def flag_cancellation(
    row: SupplierOrder, adapter: str, answer: str | None, details: dict[str, Any]
) -> None:
    """A cancellation whose answers settled nothing ``row.unsettled_lookups`` times in a
    row: on the timeline (in ``details``), counted, logged; it is still tried."""
    details["needs_attention"] = (
        f"{row.unsettled_lookups} answers in a row settled nothing: is the order still at"
        " the supplier? Cancel it there if so."
    )
    NEEDS_ATTENTION.labels(adapter=adapter, stage="cancellation").inc()
    log.warning(
        "supplier_cancellation_needs_attention",
        supplier_order=str(row.id),
        order=str(row.order_id),
        adapter=adapter,
        unsettled=row.unsettled_lookups,
        last_answer=answer,
    )
