"""``GET /v1/cases/{id}/evidence/{n}``: a photo the buyer sent, for the agents (API key,
the case's shop), with its content type. Stored photos are re-encoded images only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Path
from fastapi.responses import Response

from aftersales.cases.endpoints import visible_case
from aftersales.cases.repository import CaseRepository
from aftersales.evidence.storage import StorageFailed, storage_of
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import PATH_ERRORS, NotFound, ServiceUnavailable, error_responses

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.get(
    "/{case_id}/evidence/{n}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        **error_responses(PATH_ERRORS),  # 503 (the store unreachable): every route declares it
    },
)
async def evidence_item(
    case_id: uuid.UUID, rt: Runtime, who: Operator, n: int = Path(ge=0, le=1000)
) -> Response:
    async with rt.db.sessions() as session:
        case = await visible_case(CaseRepository(session), who, case_id)
    items = case.evidence
    item = items[n] if n < len(items) and isinstance(items[n], dict) else None
    if item is None or "key" not in item:
        raise NotFound(f"case {case_id} has no evidence {n}")
    try:
        stored = await storage_of(rt).get(str(item["key"]))
    except StorageFailed as exc:
        raise ServiceUnavailable("the photo store cannot be reached: try again") from exc
    if stored is None:
        raise NotFound(f"evidence {n} of case {case_id} is no longer stored")
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
