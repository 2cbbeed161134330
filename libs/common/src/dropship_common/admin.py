"""Every service's operator endpoints for its dead-letter queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from dropship_common.auth import require_role
from dropship_common.security import Role

router = APIRouter(prefix="/v1/dead-letters", tags=["operations"])


class DeadLetterOut(BaseModel):
    id: str
    type: str
    attempts: int
    error: str | None
    dead_at: dt.datetime | None
    envelope: dict[str, Any]


class ReplayResult(BaseModel):
    replayed: int


@router.get(
    "", response_model=list[DeadLetterOut], dependencies=[Depends(require_role(Role.ADMIN))]
)
async def list_dead_letters(
    request: Request, limit: int = Query(100, ge=1, le=1000)
) -> list[DeadLetterOut]:
    rt = request.app.state.runtime
    letters = await rt.bus.dead_letters(rt.queue, limit)
    return [
        DeadLetterOut(
            id=str(d.envelope.id),
            type=d.envelope.type,
            attempts=d.attempts,
            error=d.error,
            dead_at=d.dead_at,
            envelope=d.envelope.model_dump(mode="json"),
        )
        for d in letters
    ]


@router.post(
    "/replay", response_model=ReplayResult, dependencies=[Depends(require_role(Role.ADMIN))]
)
async def replay_dead_letters(request: Request) -> ReplayResult:
    rt = request.app.state.runtime
    return ReplayResult(replayed=await rt.bus.replay_dead_letters(rt.queue))
