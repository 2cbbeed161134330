"""Moving a case: every change through the lifecycle table
(:func:`aftersales.domain.cases.transition`), on the timeline, and told to the buyer
where the buyer is to hear of it (:data:`aftersales.cases.notices.NOTICE_OF_STATUS`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from aftersales.cases.notices import NOTICE_OF_STATUS, buyer_notice
from aftersales.domain.cases import CaseStatus, StepTimes, due_by, transition
from aftersales.models import Case, CaseEvent
from dropship_common.messaging.outbox import Outbox

TIMES = StepTimes()


async def move(
    session: AsyncSession,
    outbox: Outbox,
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
    kind = NOTICE_OF_STATUS.get(target)
    if kind is not None and current != target:
        proposal = case.proposal or {}
        await outbox.add(
            session,
            [
                buyer_notice(
                    case,
                    kind,
                    next_step=proposal.get("resolution") if kind == "approved" else None,
                    amount=proposal.get("amount") if kind == "approved" else None,
                    currency=case.currency if kind == "approved" else None,
                    amount_due=proposal.get("amount_due") if kind == "approved" else None,
                    reason=reason if kind in ("rejected", "evidence_needed") else None,
                )
            ],
        )
