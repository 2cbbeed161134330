"""The agent's actions on a case: open one, ask the buyer for evidence, propose again
(the policy's evaluation, or the agent's own resolution), reject, withdraw, assign,
note. Each goes through the lifecycle table and onto the timeline with who did it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aftersales.cases.endpoints import CaseOut, case_out, visible_case
from aftersales.cases.lifecycle import move
from aftersales.cases.repository import CaseRepository, OrderCopyRepository
from aftersales.cases.resolutions import return_received, send_missing
from aftersales.cases.service import apply_proposal, open_case, propose_by_policy, shop_policy
from aftersales.domain.cases import CaseStatus, CaseType, IllegalTransition
from aftersales.domain.policy import Proposal, Resolution
from aftersales.models import CaseEvent
from dropship_common.contracts.aftersales import AftersalesReturnShipped
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
            rt.outbox,
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
                rt.outbox,
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
    exchange_skus: dict[uuid.UUID, str] | None = Field(
        default=None,
        description="an exchange: per line, the shop's SKU to send instead (another size)",
    )
    price_difference: Decimal | None = Field(
        default=None, max_digits=14, decimal_places=4,
        description="an exchange: the new variant's price minus the old for the case's"
        " units; below zero it is refunded, above zero the buyer is asked for it",
    )  # fmt: skip


@router.post("/{case_id}/propose", response_model=CaseOut, responses=ACTION_ERRORS)
async def propose(case_id: uuid.UUID, body: ProposeIn, rt: Runtime, who: Operator) -> CaseOut:
    now = utcnow()
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        order = await OrderCopyRepository(session).get_order(case.order_id)
        if order is None:
            raise NotFound(f"no order {case.order_id}")
        policy, version = await shop_policy(session, case.shop_id)
        if body.resolution is None:
            proposal = await propose_by_policy(session, case, order, policy, now=now)
            case.policy_version = version
        else:
            if body.amount is not None and body.amount > order.total:
                raise ValidationFailed(f"amount: more than the order's {order.total}")
            amount = body.amount or Decimal(0)
            if body.resolution == Resolution.EXCHANGE and body.price_difference is not None:
                amount = max(Decimal(0), -body.price_difference)
            proposal = Proposal(
                body.resolution, case.currency, amount, amount, "admin", False,
                [f"proposed by {who.actor}: {body.reason or 'no reason given'}"],
            )  # fmt: skip
        skus = {str(k): v for k, v in (body.exchange_skus or {}).items()}
        unknown = set(skus) - {str(line["line_id"]) for line in case.lines}
        if unknown:
            raise ValidationFailed(f"exchange_skus: not lines of the case: {sorted(unknown)}")
        try:
            await apply_proposal(
                session, rt.outbox, case, proposal, policy, actor=who.actor,
                cause="request:propose", now=now,
                extra=_exchange_extra(skus, body.price_difference),
            )  # fmt: skip
        except IllegalTransition as exc:
            raise Conflict(str(exc)) from exc
        return case_out(case)


def _exchange_extra(skus: dict[str, str], difference: Decimal | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"exchange_skus": skus} if skus else {}
    if difference is not None and difference > 0:
        extra["amount_due"] = str(difference)  # the buyer pays the dearer variant's extra
    return extra


@router.post("/{case_id}/send-missing-now", response_model=CaseOut, responses=ACTION_ERRORS)
async def send_missing_now(case_id: uuid.UUID, rt: Runtime, who: Operator) -> CaseOut:
    """Missing units that wait for the buyer's next order, sent separately now (the
    wait is over, or the buyer asked); a 409 when the case does not wait."""
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        await send_missing(session, rt.outbox, case, actor=who.actor, now=utcnow())
        return case_out(case)


class ReturnTrackingIn(BaseModel):
    tracking_number: str = Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")
    carrier: str | None = Field(default=None, max_length=80)


@router.post("/{case_id}/return-tracking", response_model=CaseOut, responses=ACTION_ERRORS)
async def return_tracking(
    case_id: uuid.UUID, body: ReturnTrackingIn, rt: Runtime, who: Operator
) -> CaseOut:
    """The tracking number of the buyer's return parcel, on the case; logistics follows
    it (``aftersales.return_shipped``). A corrected number replaces it on the case."""
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        if not case.return_info or case.return_info.get("received_at"):
            raise Conflict("no return is awaited on this case")
        number = body.tracking_number.replace(" ", "").upper()
        case.return_info = {**case.return_info, "tracking_number": number,
                            "carrier": body.carrier}  # fmt: skip
        session.add(CaseEvent(case_id=case.id, at=utcnow(), kind="return_tracking",
                              reason=f"{body.carrier or 'carrier unknown'} {number}",
                              actor=who.actor, cause="request:return-tracking"))  # fmt: skip
        # logistics follows the return; its delivery is the return received
        shipped = AftersalesReturnShipped(
            case_id=case.id, order_id=case.order_id, shop_id=case.shop_id,
            tracking_number=number, carrier=body.carrier,
        )  # fmt: skip
        await rt.outbox.add(session, [shipped.envelope(correlation_id=str(case.order_id))])
        return case_out(case)


@router.post("/{case_id}/return-received", response_model=CaseOut, responses=ACTION_ERRORS)
async def record_return_received(case_id: uuid.UUID, rt: Runtime, who: Operator) -> CaseOut:
    """The goods are back: the refund or the exchange goes ahead (once: a second call
    is a 409)."""
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        session.add(CaseEvent(case_id=case.id, at=utcnow(), kind="return_received",
                              actor=who.actor, cause="request:return-received"))  # fmt: skip
        await return_received(session, rt.outbox, case, actor=who.actor, now=utcnow())
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
