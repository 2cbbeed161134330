"""Opening a case (a rule, an operator, a buyer, the storefront) and proposing its
resolution: a new case is evaluated at once by the shop's policy and is ``proposed``
with the rules that fired, ``awaiting_buyer`` when evidence is missing; a proposal under
the shop's auto-approve limit is approved by the policy and carried out at once."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales.cases.lifecycle import TIMES, move
from aftersales.cases.notices import buyer_notice
from aftersales.cases.repository import CaseRepository, OrderCopyRepository, PolicyRepository
from aftersales.cases.resolutions import carry_out, refundable
from aftersales.domain.cases import CaseStatus, CaseType, due_by
from aftersales.domain.policy import (
    CaseFacts,
    Policy,
    Proposal,
    Resolution,
    evaluate,
    reship_estimate,
)
from aftersales.models import Case, CaseEvent, OrderCopy
from dropship_common.messaging.outbox import Outbox

_STATUS_OF: dict[Resolution, CaseStatus] = {
    Resolution.REQUEST_EVIDENCE: CaseStatus.AWAITING_BUYER,
    Resolution.REJECT: CaseStatus.PROPOSED,  # an agent confirms a rejection too
}


def proposal_json(p: Proposal, **extra: Any) -> dict[str, Any]:
    data = asdict(p)
    data["resolution"] = p.resolution.value
    data["amount"], data["cost"] = str(p.amount), str(p.cost)
    return {**data, **extra}


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


async def shop_policy(
    session: AsyncSession, shop_id: uuid.UUID | None
) -> tuple[Policy, int | None]:
    row = await PolicyRepository(session).current(shop_id)
    return (Policy.model_validate(row.body), row.version) if row else (Policy(), None)


def _window(order: OrderCopy) -> dt.date | None:
    ends = [dt.date.fromisoformat(p["window_to"]) for p in order.parcels if p.get("window_to")]
    return max(ends) if ends else None


def _goods_cost(order: OrderCopy) -> Decimal | None:
    costs = [s for s in order.supplier_orders if s.get("goods_cost") is not None]
    if not costs or len(costs) != len(order.supplier_orders):
        return None
    if any(s.get("currency") != order.currency for s in costs):
        return None
    return sum((Decimal(str(s["goods_cost"])) for s in costs), Decimal(0))


def evidence_kinds(evidence: list[Any]) -> frozenset[str]:
    """What kinds of evidence a case has ("photo" …): what the policy asks for."""
    return frozenset(str(e.get("kind")) for e in evidence if isinstance(e, dict))


async def propose_by_policy(
    session: AsyncSession,
    case: Case,
    order: OrderCopy,
    policy: Policy,
    *,
    now: dt.datetime,
) -> Proposal:
    order_value, _ = _value(order, None)
    return evaluate(
        CaseFacts(
            type=CaseType(case.type),
            currency=case.currency,
            claimed_value=case.claimed_value,
            refundable=await refundable(session, order),
            reported_at=case.created_at or now,
            evidence=evidence_kinds(case.evidence),
            delivered_at=order.delivered_at,
            window_closes_on=_window(order),
            reship_cost=reship_estimate(
                policy, case.currency, case.claimed_value, order_value, _goods_cost(order)
            ),
        ),
        policy,
    )


async def apply_proposal(
    session: AsyncSession,
    outbox: Outbox,
    case: Case,
    proposal: Proposal,
    policy: Policy,
    *,
    actor: str,
    cause: str,
    now: dt.datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """The case proposed (or sent to the buyer for evidence); approved and carried out
    at once under the shop's auto-approve limit, unless the money is gone meanwhile."""
    case.proposal = proposal_json(proposal, **(extra or {}))
    target = _STATUS_OF.get(proposal.resolution, CaseStatus.PROPOSED)
    await move(session, outbox, case, target, actor=actor, cause=cause, now=now,
               reason="; ".join(proposal.rules))  # fmt: skip
    order = await OrderCopyRepository(session).get_order(case.order_id)
    exchange_unknown = proposal.resolution == Resolution.EXCHANGE and not (case.proposal or {}).get(
        "exchange_skus"
    )  # an agent picks the variant to send first
    if (
        proposal.auto_approve
        and not exchange_unknown
        and target == CaseStatus.PROPOSED
        and order is not None
        and proposal.amount <= await refundable(session, order)
    ):
        await move(session, outbox, case, CaseStatus.APPROVED, actor="policy", cause=cause,
                   now=now, reason="under the shop's auto-approve limit")  # fmt: skip
        await carry_out(session, outbox, case, policy, actor="policy", now=now)


async def open_case(
    session: AsyncSession,
    outbox: Outbox,
    *,
    order_id: uuid.UUID,
    type_: CaseType,
    source_key: str,
    actor: str,
    cause: str,
    now: dt.datetime,
    line_ids: list[str] | None = None,
    buyer_words: str | None = None,
    evidence: list[dict[str, Any]] | None = None,
    supplier_order_id: uuid.UUID | None = None,
    quantities: dict[str, int] | None = None,
) -> uuid.UUID | None:
    """The case's id, or None when that problem has a case already, or the order is
    unknown here (logged by the caller). ``evidence``: what came with the report
    (``{"kind": "photo", "key": …}``), which the policy's evidence check sees;
    ``quantities``: per line, the units concerned (the buyer's page)."""
    repo = CaseRepository(session)
    order = await OrderCopyRepository(session).get_order(order_id)
    if order is None:
        return None
    value, lines = _value(order, line_ids, quantities)
    if supplier_order_id is None and len(order.supplier_orders) == 1:
        supplier_order_id = uuid.UUID(str(order.supplier_orders[0]["supplier_order_id"]))
    policy, version = await shop_policy(session, order.shop_id)
    case_id = uuid.uuid4()
    opened = await repo.insert_new(
        {
            "id": case_id,
            "order_id": order_id,
            "shop_id": order.shop_id,
            "type": type_.value,
            "status": CaseStatus.OPEN.value,
            "source_key": source_key[:80],
            "opened_by": actor[:120],
            "currency": order.currency,
            "claimed_value": value,
            "lines": lines,
            "buyer_words": buyer_words,
            "evidence": list(evidence or []),
            "supplier_order_id": supplier_order_id,
            "policy_version": version,
            "status_since": now,
            "due_by": due_by(CaseStatus.OPEN, now, TIMES),
            "created_at": now,
            "updated_at": now,
        }
    )
    if not opened:
        return None
    case = await repo.get(case_id, for_update=True)
    assert case is not None
    session.add(
        CaseEvent(
            case_id=case_id,
            at=now,
            kind="opened",
            to_status=CaseStatus.OPEN.value,
            reason=type_.value,
            actor=actor,
            cause=cause,
        )
    )
    await outbox.add(session, [buyer_notice(case, "case_received")])
    proposal = await propose_by_policy(session, case, order, policy, now=now)
    await apply_proposal(session, outbox, case, proposal, policy, actor="policy", cause=cause,
                         now=now)  # fmt: skip
    return case_id


async def add_evidence(
    session: AsyncSession,
    outbox: Outbox,
    case: Case,
    items: list[dict[str, Any]],
    *,
    actor: str,
    cause: str,
    now: dt.datetime,
) -> None:
    """New evidence on a (locked) case, on its timeline; a case waiting for it is
    evaluated again by the shop's policy (as an agent's "propose" does): proposed (and
    carried out at once under the auto-approve limit) when nothing is missing any more,
    still ``awaiting_buyer`` otherwise."""
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
    policy, version = await shop_policy(session, case.shop_id)
    proposal = await propose_by_policy(session, case, order, policy, now=now)
    if proposal.resolution == Resolution.REQUEST_EVIDENCE:
        return
    case.policy_version = version
    await apply_proposal(session, outbox, case, proposal, policy, actor="policy", cause=cause,
                         now=now)  # fmt: skip
