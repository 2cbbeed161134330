"""``/v1/policies``: a shop's policy (or the deployment's, ``*``) as validated JSON; each
``PUT`` is a new version (older cases keep the version they were proposed under).
``POST /v1/policies/{shop}/dry-run`` replays a draft over the shop's past cases and
says, case by case, what it would have decided and how that differs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from aftersales.cases.repository import CaseRepository, OrderCopyRepository, PolicyRepository
from aftersales.cases.service import proposal_json
from aftersales.domain.cases import CaseType
from aftersales.domain.policy import CaseFacts, Policy, evaluate
from aftersales.models import Case
from aftersales.models import Policy as PolicyRow
from dropship_common.db import utcnow
from dropship_common.deps import Admin, Operator, Runtime
from dropship_common.errors import BODY_ERRORS, NotFound, error_responses

router = APIRouter(prefix="/v1/policies", tags=["policies"])


def _key(shop: str) -> str:
    if shop == "*":
        return shop
    try:
        return str(uuid.UUID(shop))
    except ValueError as exc:
        raise NotFound(f"no shop {shop}") from exc


class PolicyOut(BaseModel):
    shop: str
    version: int
    policy: Policy


@router.get("/{shop}", response_model=PolicyOut, responses=error_responses({404: "none yet"}))
async def get_policy(shop: str, rt: Runtime, _: Operator) -> PolicyOut:
    """The policy that applies to the shop (its own, else the deployment's ``*``)."""
    key = _key(shop)
    async with rt.db.sessions() as session:
        row = await PolicyRepository(session).current(None if key == "*" else uuid.UUID(key))
    if row is None:
        return PolicyOut(shop=key, version=0, policy=Policy())
    return PolicyOut(shop=row.shop_key, version=row.version, policy=Policy.model_validate(row.body))


@router.put("/{shop}", response_model=PolicyOut, responses=error_responses(BODY_ERRORS))
async def put_policy(shop: str, body: Policy, rt: Runtime, who: Admin) -> PolicyOut:
    key = _key(shop)
    async with rt.db.transaction() as session:
        repo = PolicyRepository(session)
        rows = await repo.all(repo.select().where(PolicyRow.shop_key == key))
        version = max((r.version for r in rows), default=0) + 1
        stored = body.model_copy(update={"version": version})
        session.add(
            PolicyRow(shop_key=key, version=version, body=stored.model_dump(mode="json"),
                      created_at=utcnow(), created_by=who.actor)
        )  # fmt: skip
    return PolicyOut(shop=key, version=version, policy=stored)


class DryRunCase(BaseModel):
    case_id: uuid.UUID
    type: str
    was: dict[str, Any] | None
    would_be: dict[str, Any]
    changed: bool


class DryRunOut(BaseModel):
    cases: int
    changed: int
    refunds_total: dict[str, str] = Field(description="what the draft would pay, per currency")
    results: list[DryRunCase]


@router.post("/{shop}/dry-run", response_model=DryRunOut, responses=error_responses(BODY_ERRORS))
async def dry_run(
    shop: str,
    draft: Policy,
    rt: Runtime,
    _: Operator,
    limit: int = Query(default=500, ge=1, le=5000),
) -> DryRunOut:
    key = _key(shop)
    async with rt.db.sessions() as session:
        repo = CaseRepository(session)
        query = repo.select().order_by(Case.created_at.desc()).limit(limit)
        if key != "*":
            query = query.where(Case.shop_id == uuid.UUID(key))
        cases = await repo.all(query)
        orders = OrderCopyRepository(session)
        results: list[DryRunCase] = []
        totals: dict[str, Decimal] = {}
        for case in cases:
            order = await orders.get_order(case.order_id)
            proposal = evaluate(
                CaseFacts(
                    type=CaseType(case.type),
                    currency=case.currency,
                    claimed_value=case.claimed_value,
                    refundable=order.total if order else case.claimed_value,
                    reported_at=case.created_at,
                    evidence=frozenset(str(e.get("kind")) for e in case.evidence),
                ),
                draft,
            )
            would = proposal_json(proposal)
            was = case.proposal or {}
            changed = (was.get("resolution"), was.get("amount")) != (
                would["resolution"],
                would["amount"],
            )
            totals[case.currency] = totals.get(case.currency, Decimal(0)) + proposal.amount
            results.append(DryRunCase(case_id=case.id, type=case.type, was=case.proposal,
                                      would_be=would, changed=changed))  # fmt: skip
    return DryRunOut(
        cases=len(results),
        changed=sum(r.changed for r in results),
        refunds_total={c: str(v) for c, v in totals.items()},
        results=results,
    )
