"""The agent's actions on a case: open one, ask the buyer for evidence, propose again
(the policy's evaluation, or the agent's own resolution), reject, withdraw, assign,
note. Each goes through the lifecycle table and onto the timeline with who did it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aftersales.cases.endpoints import CaseOut, case_out, visible_case
from aftersales.cases.repository import CaseRepository, OrderCopyRepository, PolicyRepository
from aftersales.cases.service import move, open_case, proposal_json
from aftersales.domain.cases import CaseStatus, CaseType, IllegalTransition
from aftersales.domain.policy import CaseFacts, Policy, Proposal, Resolution, evaluate
from aftersales.models import CaseEvent
from dropship_common.db import utcnow
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import (
    BODY_ERRORS,
    PATH_ERRORS,
    Conflict,
    NotFound,
    ValidationFailed,
    error_responses,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"])
ACTION_ERRORS = error_responses(
    {**PATH_ERRORS, **BODY_ERRORS, 409: "the case's status does not allow it (conflict)"}
)


class CaseIn(BaseModel):
    order_id: uuid.UUID
    type: CaseType
    line_ids: list[uuid.UUID] | None = Field(
        default=None, description="the lines concerned; none: the whole order"
    )
    buyer_words: str | None = Field(default=None, max_length=5000)


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    responses=error_responses(
        {**BODY_ERRORS, 404: "no such order here", 409: "that problem has a case already"}
    ),
)
async def open_by_operator(body: CaseIn, rt: Runtime, who: Operator) -> CaseOut:
    now = utcnow()
    async with rt.db.transaction() as session:
        order = await OrderCopyRepository(session).get_order(body.order_id)
        if order is None or not who.sees_shop(order.shop_id):
            raise NotFound(f"no order {body.order_id}")
        case_id = await open_case(
            session,
            order_id=body.order_id,
            type_=body.type,
            source_key=f"operator:{uuid.uuid4()}",
            actor=who.actor,
            cause="request:open",
            now=now,
            line_ids=[str(i) for i in body.line_ids] if body.line_ids else None,
            buyer_words=body.buyer_words,
        )
        if case_id is None:
            raise Conflict("that problem has a case already")
        case = await CaseRepository(session).get(case_id)
        assert case is not None
        return case_out(case)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def _act(
    rt: Runtime, who: Operator, case_id: uuid.UUID, target: CaseStatus, reason: str, kind: str
) -> CaseOut:
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        try:
            await move(
                session,
                case,
                target,
                actor=who.actor,
                cause=f"request:{kind}",
                now=utcnow(),
                reason=reason,
            )
        except IllegalTransition as exc:
            raise Conflict(str(exc)) from exc
        return case_out(case)


@router.post("/{case_id}/reject", response_model=CaseOut, responses=ACTION_ERRORS)
async def reject(case_id: uuid.UUID, body: ReasonIn, rt: Runtime, who: Operator) -> CaseOut:
    return await _act(rt, who, case_id, CaseStatus.REJECTED, body.reason, "reject")


@router.post("/{case_id}/withdraw", response_model=CaseOut, responses=ACTION_ERRORS)
async def withdraw(case_id: uuid.UUID, body: ReasonIn, rt: Runtime, who: Operator) -> CaseOut:
    return await _act(rt, who, case_id, CaseStatus.WITHDRAWN, body.reason, "withdraw")


class EvidenceIn(BaseModel):
    what: list[Literal["photo", "video", "tracking", "receipt"]] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{case_id}/request-evidence", response_model=CaseOut, responses=ACTION_ERRORS)
async def request_evidence(
    case_id: uuid.UUID, body: EvidenceIn, rt: Runtime, who: Operator
) -> CaseOut:
    reason = f"asked for {', '.join(body.what)}: {body.reason}"
    return await _act(rt, who, case_id, CaseStatus.AWAITING_BUYER, reason, "request-evidence")


class ProposeIn(BaseModel):
    """Empty: the policy evaluates the case again (after new evidence, a new policy).
    With a resolution: the agent's own, with the amount in the case's currency."""

    resolution: Resolution | None = None
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)
    reason: str | None = Field(default=None, max_length=2000)


@router.post("/{case_id}/propose", response_model=CaseOut, responses=ACTION_ERRORS)
async def propose(case_id: uuid.UUID, body: ProposeIn, rt: Runtime, who: Operator) -> CaseOut:
    now = utcnow()
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        order = await OrderCopyRepository(session).get_order(case.order_id)
        if order is None:
            raise NotFound(f"no order {case.order_id}")
        if body.resolution is None:
            row = await PolicyRepository(session).current(case.shop_id)
            policy = Policy.model_validate(row.body) if row else Policy()
            proposal = evaluate(
                CaseFacts(
                    type=CaseType(case.type),
                    currency=case.currency,
                    claimed_value=case.claimed_value,
                    refundable=order.total,
                    reported_at=case.created_at,
                    evidence=frozenset(str(e.get("kind")) for e in case.evidence),
                ),
                policy,
            )
            case.policy_version = row.version if row else None
        else:
            if body.amount is not None and body.amount > order.total:
                raise ValidationFailed(f"amount: more than the order's {order.total}")
            amount = body.amount or Decimal(0)
            proposal = Proposal(
                body.resolution, case.currency, amount, amount, "admin", False,
                [f"proposed by {who.actor}: {body.reason or 'no reason given'}"],
            )  # fmt: skip
        try:
            await move(
                session,
                case,
                CaseStatus.PROPOSED,
                actor=who.actor,
                cause="request:propose",
                now=now,
                reason="; ".join(proposal.rules),
            )
        except IllegalTransition as exc:
            raise Conflict(str(exc)) from exc
        case.proposal = proposal_json(proposal)
        return case_out(case)


class AssignIn(BaseModel):
    assignee: str | None = Field(max_length=120, description="none: unassigned")


@router.post("/{case_id}/assign", response_model=CaseOut, responses=ACTION_ERRORS)
async def assign(case_id: uuid.UUID, body: AssignIn, rt: Runtime, who: Operator) -> CaseOut:
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        previous, case.assignee = case.assignee, body.assignee
        session.add(CaseEvent(case_id=case.id, at=utcnow(), kind="assigned",
                              reason=f"{previous} -> {body.assignee}", actor=who.actor,
                              cause="request:assign"))  # fmt: skip
        return case_out(case)


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=5000)


@router.post("/{case_id}/notes", response_model=CaseOut, responses=ACTION_ERRORS)
async def note(case_id: uuid.UUID, body: NoteIn, rt: Runtime, who: Operator) -> CaseOut:
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        session.add(
            CaseEvent(
                case_id=case.id,
                at=utcnow(),
                kind="note",
                reason=body.note,
                actor=who.actor,
                cause="request:note",
            )
        )
        return case_out(case)
