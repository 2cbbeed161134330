"""``/v1/cases``: every case with its proposal and timeline; approval by the role the
proposal asks for, once (the lifecycle refuses a second approval: two agents approving
at the same moment give one approval and one 409)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from aftersales.cases.lifecycle import move
from aftersales.cases.repository import CaseRepository, LedgerRepository
from aftersales.cases.resolutions import carry_out
from aftersales.cases.service import shop_policy
from aftersales.domain.cases import (
    CaseStatus,
    CaseType,
    IllegalTransition,
    StepTimes,
    deadline,
)
from aftersales.models import Case
from dropship_common.auth import Principal
from dropship_common.db import utcnow
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import PATH_ERRORS, Conflict, Forbidden, NotFound, error_responses
from dropship_common.security import Role

router = APIRouter(prefix="/v1/cases", tags=["cases"])
TIMES = StepTimes()


class CaseEventOut(BaseModel):
    model_config = {"from_attributes": True}

    at: dt.datetime
    kind: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    details: dict[str, Any] | None
    actor: str
    cause: str


class LedgerOut(BaseModel):
    kind: str = Field(description="refund, discount, reship or payment (the buyer's, in)")
    state: str = Field(description="reserved (on its way), done or released (failed)")
    amount: str = Field(description="a decimal, as text")
    currency: str = Field(description="ISO 4217")
    borne_by: str | None = Field(description="supplier, merchant or carrier")
    reference: str
    at: dt.datetime


class CaseOut(BaseModel):
    model_config = {"from_attributes": True}

    id: uuid.UUID
    order_id: uuid.UUID
    shop_id: uuid.UUID | None
    type: str
    status: str
    opened_by: str
    currency: str = Field(description="ISO 4217")
    claimed_value: str = Field(description="a decimal, as text (never a float)")
    lines: list[Any]
    evidence: list[dict[str, Any]] = Field(
        default_factory=list,
        description="what the buyer sent: kind, content type, size; a photo's `url` "
        "(`GET /v1/cases/{id}/evidence/{n}`)",
    )
    proposal: dict[str, Any] | None
    policy_version: int | None
    assignee: str | None
    supplier_order_id: uuid.UUID | None
    return_info: dict[str, Any] | None = Field(
        description="the return: RMA number, address, the buyer's tracking, received_at"
    )
    payment_info: dict[str, Any] | None = Field(
        default=None,
        description="what the buyer pays first (a dearer exchange's difference): amount_due,"
        " currency, requested_at, link_sent_at, storefront_ref, paid_at",
    )
    due_by: dt.datetime | None
    deadline: str = ""
    created_at: dt.datetime
    timeline: list[CaseEventOut] | None = None
    ledger: list[LedgerOut] | None = Field(
        default=None, description="what the case's resolutions cost and who bears it"
    )


def case_out(case: Case) -> CaseOut:
    out = CaseOut.model_validate(
        {
            **{c.key: getattr(case, c.key) for c in Case.__table__.columns},
            "claimed_value": str(case.claimed_value),
            "evidence": [
                {
                    **{k: v for k, v in item.items() if k != "key"},
                    **({"url": f"/v1/cases/{case.id}/evidence/{n}"} if "key" in item else {}),
                }
                for n, item in enumerate(case.evidence)
                if isinstance(item, dict)
            ],
        }
    )
    out.deadline = deadline(case.status_since, case.due_by, utcnow(), TIMES).value
    return out


class CasePage(BaseModel):
    cases: list[CaseOut]


@router.get("", response_model=CasePage, responses=error_responses({}))
async def list_cases(
    rt: Runtime,
    who: Operator,
    status: CaseStatus | None = None,
    type: CaseType | None = None,
    shop_id: uuid.UUID | None = None,
    assignee: str | None = Query(default=None, max_length=120),
    overdue: bool = False,
    limit: int = Query(default=50, ge=1, le=500),
) -> CasePage:
    allowed = who.shop_ids()
    shops = None if allowed is None else list(allowed)
    if shop_id is not None:
        shops = [shop_id] if allowed is None or shop_id in allowed else []
    async with rt.db.sessions() as session:
        rows = await CaseRepository(session).search(
            status=status.value if status else None,
            type_=type.value if type else None,
            shop_ids=shops,
            assignee=assignee,
            overdue_at=utcnow() if overdue else None,
            limit=limit,
        )
    return CasePage(cases=[case_out(r) for r in rows])


async def visible_case(
    repo: CaseRepository, who: Principal, case_id: uuid.UUID, *, for_update: bool = False
) -> Case:
    case = await repo.get(case_id, for_update=for_update)
    hidden = who.shops is not None and (
        case is None or case.shop_id is None or not who.sees_shop(case.shop_id)
    )
    if case is None or hidden:
        raise NotFound(f"no case {case_id}")
    return case


@router.get("/{case_id}", response_model=CaseOut, responses=error_responses(PATH_ERRORS))
async def get_case(case_id: uuid.UUID, rt: Runtime, who: Operator) -> CaseOut:
    async with rt.db.sessions() as session:
        repo = CaseRepository(session)
        out = case_out(await visible_case(repo, who, case_id))
        out.timeline = [CaseEventOut.model_validate(e) for e in await repo.timeline(case_id)]
        out.ledger = [
            LedgerOut(
                kind=e.kind,
                state=e.state,
                amount=str(e.amount),
                currency=e.currency,
                borne_by=e.borne_by,
                reference=e.reference,
                at=e.at,
            )
            for e in await LedgerRepository(session).of_case(case_id)
        ]
    return out


@router.post(
    "/{case_id}/approve",
    response_model=CaseOut,
    responses=error_responses(
        {
            **PATH_ERRORS,
            403: "the proposal needs an admin (forbidden)",
            409: "the case is not proposed (approved already, …), or its money is no"
            " longer refundable (conflict, not_refundable)",
        }
    ),
)
async def approve(case_id: uuid.UUID, rt: Runtime, who: Operator) -> CaseOut:
    """Approve the proposal. Above the operator's limit the policy asks for an admin."""
    async with rt.db.transaction() as session:
        case = await visible_case(CaseRepository(session), who, case_id, for_update=True)
        needs = (case.proposal or {}).get("approver", "admin")
        if needs == "admin" and who.role != Role.ADMIN:
            raise Forbidden("this proposal is above the operator's limit: an admin approves")
        try:
            await move(
                session,
                rt.outbox,
                case,
                CaseStatus.APPROVED,
                actor=who.actor,
                cause=f"request:approve:{case_id}",
                now=utcnow(),
            )
        except IllegalTransition as exc:
            raise Conflict(str(exc)) from exc
        policy, _ = await shop_policy(session, case.shop_id)
        await carry_out(session, rt.outbox, case, policy, actor=who.actor, now=utcnow())
        return case_out(case)
