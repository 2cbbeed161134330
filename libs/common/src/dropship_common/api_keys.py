"""Every service's admin endpoints for its API keys: list (with last use), create
and revoke. The CLI's ``dropship apikey`` does the same across all databases."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from dropship_common.auth import create_api_key, require_role, revoke_api_key
from dropship_common.errors import NotFound, ValidationFailed
from dropship_common.security import Role


class _ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: _ErrorDetail


router = APIRouter(
    prefix="/v1/admin/api-keys",
    tags=["operations"],
    dependencies=[Depends(require_role(Role.ADMIN))],
    responses={
        401: {"model": ErrorOut, "description": "no, or an invalid, API key"},
        403: {"model": ErrorOut, "description": "the key is not an admin key"},
    },
)


class ApiKeyOut(BaseModel):
    id: str
    role: str
    subject: str | None
    label: str | None
    shops: list[str] | None  # an operator key limited to these shops; null: every shop
    created_at: dt.datetime
    last_used_at: dt.datetime | None  # to the minute: refreshed at most once a minute
    expires_at: dt.datetime | None  # a replaced key's end of grace
    revoked_at: dt.datetime | None


class ApiKeyIn(BaseModel):
    role: Literal["admin", "operator"]
    label: str | None = Field(None, max_length=200)
    # operator keys only: the shop ids it may see (at least one); omitted: every shop
    shops: list[str] | None = Field(None, min_length=1, max_length=1000)


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown once


def key_out(row: Any) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.id,
        role=row.role,
        subject=row.subject,
        label=row.label,
        shops=row.shops,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def list_keys(session: Any, table: sa.Table) -> list[ApiKeyOut]:
    rows = await session.execute(sa.select(table).order_by(table.c.created_at, table.c.id))
    return [key_out(r) for r in rows]


@router.get("", response_model=list[ApiKeyOut])
async def get_api_keys(request: Request) -> list[ApiKeyOut]:
    """Every key of this service (none of them in plaintext), revoked ones included."""
    rt = request.app.state.runtime
    async with rt.db.sessions() as session:
        return await list_keys(session, rt.tables.api_keys)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    responses={422: {"model": ErrorOut, "description": "a bad role, label or shop list"}},
)
async def post_api_key(data: ApiKeyIn, request: Request) -> ApiKeyCreated:
    """A key for this service only (the CLI makes one valid on every service)."""
    if data.shops is not None and data.role != "operator":
        raise ValidationFailed("only an operator key can be limited to shops")
    rt = request.app.state.runtime
    t: sa.Table = rt.tables.api_keys
    async with rt.db.transaction() as session:
        key_id, key = await create_api_key(
            session, t, Role(data.role), label=data.label, shops=data.shops
        )
        row = (await session.execute(sa.select(t).where(t.c.id == key_id))).one()
    return ApiKeyCreated(key=key, **key_out(row).model_dump())


@router.post(
    "/{key_id}/revoke",
    response_model=ApiKeyOut,
    responses={404: {"model": ErrorOut, "description": "no such key"}},
)
async def revoke(key_id: str, request: Request) -> ApiKeyOut:
    """Revoke a key: refused from the next request on. Idempotent."""
    rt = request.app.state.runtime
    t: sa.Table = rt.tables.api_keys
    async with rt.db.transaction() as session:
        if not await revoke_api_key(session, t, key_id):
            raise NotFound(f"no API key {key_id}")
        row = (await session.execute(sa.select(t).where(t.c.id == key_id))).one()
    return key_out(row)
