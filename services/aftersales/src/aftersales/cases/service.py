"""Opening a case (a rule, an operator, a buyer) and moving it: every change through the
lifecycle table (:func:`aftersales.domain.cases.transition`) and on the timeline. A new
case is evaluated at once by the shop's policy: it is ``proposed`` with the rules that
fired, or ``awaiting_buyer`` when evidence is missing, ``rejected`` outside the policy."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales.cases.repository import CaseRepository, OrderCopyRepository, PolicyRepository
from aftersales.domain.cases import CaseStatus, CaseType, StepTimes, due_by, transition
from aftersales.domain.policy import CaseFacts, Policy, Proposal, Resolution, evaluate
from aftersales.models import Case, CaseEvent, OrderCopy
from dropship_common.contracts.aftersales import (
    AftersalesRefundRequested,
    AftersalesReshipRequested,
    CaseLineV1,
)
from dropship_common.messaging.outbox import Outbox

TIMES = StepTimes()

_STATUS_OF: dict[Resolution, CaseStatus] = {
    Resolution.REQUEST_EVIDENCE: CaseStatus.AWAITING_BUYER,
    Resolution.REJECT: CaseStatus.PROPOSED,  # an agent confirms a rejection too
}


def proposal_json(p: Proposal) -> dict[str, Any]:
    data = asdict(p)
    data["resolution"] = p.resolution.value
    data["amount"], data["cost"] = str(p.amount), str(p.cost)
    return data


def _value(
    order: OrderCopy, line_ids: list[str] | None, quantities: dict[str, int] | None = None
) -> tuple[Decimal, list[Any]]:
    """The lines concerned (with the quantity concerned, at most the line's) and their
    value at the price paid."""
    lines = [line for line in order.lines if line_ids is None or str(line["line_id"]) in line_ids]
    if quantities:
        lines = [
            {**line, "quantity": min(int(line["quantity"]), quantities[str(line["line_id"])])}
            if str(line["line_id"]) in quantities
            else line
            for line in lines
        ]
    value = sum(
        (Decimal(str(line["unit_price"])) * int(line["quantity"]) for line in lines), Decimal(0)
    )
    return value, lines


async def open_case(
    session: AsyncSession,
    *,
    order_id: uuid.UUID,
    type_: CaseType,
    source_key: str,
    actor: str,
    cause: str,
    now: dt.datetime,
    line_ids: list[str] | None = None,
    buyer_words: str | None = None,
    delivered_at: dt.datetime | None = None,
    window_closes_on: dt.date | None = None,
    reship_cost: Decimal | None = None,
    quantities: dict[str, int] | None = None,
    evidence: list[dict[str, Any]] | None = None,
) -> uuid.UUID | None:
    """The case's id, or None when that problem has a case already, or the order is
    unknown here (logged by the caller). ``evidence``: what came with the report
    (``{"kind": "photo", "key": …}``), which the policy's evidence check sees."""
    order = await OrderCopyRepository(session).get_order(order_id)
    if order is None:
        return None
    value, lines = _value(order, line_ids, quantities)
    row = await PolicyRepository(session).current(order.shop_id)
    policy = Policy.model_validate(row.body) if row else Policy()
    proposal = evaluate(
        CaseFacts(
            type=type_,
            currency=order.currency,
            claimed_value=value,
            refundable=order.total,
            reported_at=now,
            delivered_at=delivered_at,
            window_closes_on=window_closes_on,
            reship_cost=reship_cost,
            evidence=evidence_kinds(evidence or []),
        ),
        policy,
    )
    status = _STATUS_OF.get(proposal.resolution, CaseStatus.PROPOSED)
    case_id = uuid.uuid4()
    opened = await CaseRepository(session).insert_new(
        {
            "id": case_id,
            "order_id": order_id,
            "shop_id": order.shop_id,
            "type": type_.value,
            "status": status.value,
            "source_key": source_key[:80],
            "opened_by": actor[:120],
            "currency": order.currency,
            "claimed_value": value,
            "lines": lines,
            "buyer_words": buyer_words,
            "evidence": list(evidence or []),
            "proposal": proposal_json(proposal),
            "policy_version": row.version if row else None,
            "status_since": now,
            "due_by": due_by(status, now, TIMES),
            "created_at": now,
            "updated_at": now,
        }
    )
    if not opened:
        return None
    session.add_all(
        [
            CaseEvent(
                case_id=case_id,
                at=now,
                kind="opened",
                to_status=CaseStatus.OPEN.value,
                reason=type_.value,
                actor=actor,
                cause=cause,
            ),
            CaseEvent(
                case_id=case_id,
                at=now,
                kind="proposed",
                from_status="open",
                to_status=status.value,
                reason="; ".join(proposal.rules),
                details=proposal_json(proposal),
                actor="policy",
                cause=cause,
            ),
        ]
    )
    return case_id


def evidence_kinds(evidence: list[Any]) -> frozenset[str]:
    """What kinds of evidence a case has ("photo" …): what the policy asks for."""
    return frozenset(str(e.get("kind")) for e in evidence if isinstance(e, dict))


async def add_evidence(
    session: AsyncSession,
    case: Case,
    items: list[dict[str, Any]],
    *,
    actor: str,
    cause: str,
    now: dt.datetime,
) -> None:
    """New evidence on a (locked) case, on its timeline; a case waiting for it is
    evaluated again by the shop's policy (as an agent's "propose" does): ``proposed``
    when nothing is missing any more, still ``awaiting_buyer`` otherwise."""
    case.evidence = [*case.evidence, *items]
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind="evidence",
            reason=f"{len(items)} {'item' if len(items) == 1 else 'items'} added",
            details={"evidence": [dict(item) for item in items]},
            actor=actor,
            cause=cause,
        )
    )
    if case.status != CaseStatus.AWAITING_BUYER.value:
        return
    order = await OrderCopyRepository(session).get_order(case.order_id)
    if order is None:
        return
    row = await PolicyRepository(session).current(case.shop_id)
    policy = Policy.model_validate(row.body) if row else Policy()
    proposal = evaluate(
        CaseFacts(
            type=CaseType(case.type),
            currency=case.currency,
            claimed_value=case.claimed_value,
            refundable=order.total,
            reported_at=case.created_at,
            evidence=evidence_kinds(case.evidence),
            delivered_at=order.delivered_at,
        ),
        policy,
    )
    status = _STATUS_OF.get(proposal.resolution, CaseStatus.PROPOSED)
    if status == CaseStatus.AWAITING_BUYER:
        return
    await move(session, case, status, actor="policy", cause=cause, now=now,
               reason="; ".join(proposal.rules))  # fmt: skip
    case.proposal = proposal_json(proposal)
    case.policy_version = row.version if row else None


async def move(
    session: AsyncSession,
    case: Case,
    target: CaseStatus,
    *,
    actor: str,
    cause: str,
    now: dt.datetime,
    reason: str | None = None,
) -> None:
    """Move a (locked) case; IllegalTransition when the lifecycle does not allow it."""
    current = CaseStatus(case.status)
    transition(current, target)
    case.status, case.status_since = target.value, now
    case.due_by = due_by(target, now, TIMES)
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind="status",
            from_status=current.value,
            to_status=target.value,
            reason=reason,
            actor=actor,
            cause=cause,
        )
    )


async def carry_out(
    session: AsyncSession, outbox: Outbox, case: Case, *, actor: str, now: dt.datetime
) -> None:
    """An approved (locked) case: the resolution's event for the service that carries
    it out, and the case ``resolving``. Resolutions that wait on something else (a
    return to arrive, an explanation to the buyer) stay ``approved`` for the agent."""
    proposal = case.proposal or {}
    resolution = proposal.get("resolution")
    lines = [
        CaseLineV1(line_id=uuid.UUID(str(line["line_id"])), quantity=int(line["quantity"]))
        for line in case.lines
    ]
    reason = f"{case.type} (case {case.id})"
    envelope = None
    if resolution in (Resolution.REFUND.value, Resolution.COMPENSATION.value):
        envelope = AftersalesRefundRequested(
            case_id=case.id, order_id=case.order_id, shop_id=case.shop_id,
            amount=Decimal(str(proposal.get("amount", "0"))), currency=case.currency,
            reason=reason,
        ).envelope(correlation_id=str(case.order_id))  # fmt: skip
    elif resolution in (Resolution.RESHIP.value, Resolution.SEND_MISSING.value):
        envelope = AftersalesReshipRequested(
            case_id=case.id, order_id=case.order_id, shop_id=case.shop_id, lines=lines,
            reason=reason,
        ).envelope(correlation_id=str(case.order_id))  # fmt: skip
    if envelope is None:
        return
    await outbox.add(session, [envelope])
    await move(session, case, CaseStatus.RESOLVING, actor=actor, cause=f"case:{case.id}",
               now=now, reason=f"{envelope.type} sent")  # fmt: skip
