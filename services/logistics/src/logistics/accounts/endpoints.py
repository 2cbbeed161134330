"""``/v1/tracking-accounts``: provider accounts (admin). Credentials are write-only:
stored encrypted, never answered back; the answer says where the provider must push."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, SecretStr

from dropship_common.db import utcnow
from dropship_common.deps import Admin, Runtime
from dropship_common.errors import BODY_ERRORS, PATH_ERRORS, NotFound, error_responses
from logistics.accounts.repository import AccountRepository
from logistics.accounts.service import create_account
from logistics.models import TrackingAccount
from logistics.providers.base import ProviderError
from logistics.providers.registry import clients_of
from logistics.tracking.pushes import intake_of

router = APIRouter(prefix="/v1/tracking-accounts", tags=["tracking accounts"])


class AccountIn(BaseModel):
    provider: Literal["17track", "aftership"]
    label: str = Field(min_length=1, max_length=200)
    shop_id: uuid.UUID | None = Field(
        default=None, description="the shop it serves; none: every shop (the deployment's)"
    )
    default: bool = Field(
        default=True, description="new parcels of its shop (or of every shop) use it"
    )
    api_key: SecretStr = Field(min_length=1, max_length=500)
    webhook_secret: SecretStr | None = Field(
        default=None, max_length=500, description="AfterShip's webhook secret"
    )


class AccountOut(BaseModel):
    model_config = {"from_attributes": True}

    id: uuid.UUID
    provider: str
    label: str
    shop_id: uuid.UUID | None
    is_default: bool
    active: bool
    quota_left: int | None
    quota_checked_at: dt.datetime | None
    problem: str | None = Field(description="quota_exhausted or credentials_rejected")
    push_path: str = ""
    last_check_error: str | None = Field(
        default=None, description="what a quota check just met (the provider down, …)"
    )
    created_at: dt.datetime


def _out(row: TrackingAccount) -> AccountOut:
    out = AccountOut.model_validate(row)
    out.push_path = f"/webhooks/{row.provider}/{row.id}"
    return out


@router.post("", status_code=201, response_model=AccountOut, responses=error_responses(BODY_ERRORS))
async def add_account(body: AccountIn, rt: Runtime, _: Admin) -> AccountOut:
    async with rt.db.transaction() as session:
        row = await create_account(
            session,
            provider=body.provider,
            label=body.label,
            api_key=body.api_key.get_secret_value(),
            webhook_secret=body.webhook_secret.get_secret_value() if body.webhook_secret else None,
            shop_id=body.shop_id,
            default=body.default,
        )
        return _out(row)


@router.get("", response_model=list[AccountOut], responses=error_responses({}))
async def list_accounts(rt: Runtime, _: Admin) -> list[AccountOut]:
    async with rt.db.sessions() as session:
        return [_out(r) for r in await AccountRepository(session).listing()]


@router.post(
    "/{account_id}/quota",
    response_model=AccountOut,
    responses=error_responses(PATH_ERRORS),
)
async def refresh_quota(account_id: uuid.UUID, rt: Runtime, _: Admin) -> AccountOut:
    """Ask the provider how much quota is left (17TRACK ``getquota``). The answer is
    the account with what the check found: a provider that did not answer is in
    ``last_check_error`` (an outside party's outage, not an error of this request)."""
    async with rt.db.sessions() as session:
        row = await AccountRepository(session).get(account_id)
        if row is None:
            raise NotFound(f"no tracking account {account_id}")
        session.expunge(row)
    try:
        left = await clients_of(rt).provider(row).quota_left()
    except ProviderError as exc:
        out = _out(row)
        out.last_check_error = f"{type(exc).__name__}: {exc}"[:500]
        return out
    async with rt.db.transaction() as session:
        found = await AccountRepository(session).get(account_id, for_update=True)
        if found is None:
            raise NotFound(f"no tracking account {account_id}")
        found.quota_left, found.quota_checked_at = left, utcnow()
        if left and found.problem == "quota_exhausted":
            found.problem = None
        return _out(found)


@router.delete("/{account_id}", status_code=204, responses=error_responses(PATH_ERRORS))
async def deactivate(account_id: uuid.UUID, rt: Runtime, _: Admin) -> None:
    """Stop using it (kept for the parcels' history); its pushes are refused."""
    async with rt.db.transaction() as session:
        row = await AccountRepository(session).get(account_id, for_update=True)
        if row is None:
            raise NotFound(f"no tracking account {account_id}")
        row.active, row.is_default = False, False
    intake_of(rt).accounts.forget(account_id)  # its pushes refused at once here
