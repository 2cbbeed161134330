"""``/v1/parcels``: where every parcel is, its whole history, and the operator's
actions (correct the carrier, recheck now, mark delivered / lost with a reason)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dropship_common.auth import Principal
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
from logistics.accounts.repository import AccountRepository
from logistics.domain.carriers import CARRIERS, CarrierSource, carrier_class
from logistics.domain.status import FINAL, ParcelStatus
from logistics.errors import ProviderUnavailableError
from logistics.models import Parcel
from logistics.parcels.repository import ParcelRepository, TimelineRepository
from logistics.parcels.service import operator_status
from logistics.providers.base import ProviderError
from logistics.providers.registry import clients_of

router = APIRouter(prefix="/v1/parcels", tags=["parcels"])


class ParcelEventOut(BaseModel):
    model_config = {"from_attributes": True}

    kind: str = Field(description="scan, status, rule, operator, carrier or opened")
    occurred_at: dt.datetime
    status: str | None
    provider_status: str | None
    description: str | None
    location: str | None
    cause: str


class ParcelOut(BaseModel):
    model_config = {"from_attributes": True}

    id: uuid.UUID
    order_id: uuid.UUID
    supplier_order_id: uuid.UUID = Field(
        description="The supplier order it ships; a buyer's return: its case's id"
    )
    case_id: uuid.UUID | None = Field(
        description="The aftersales case of a reship's replacement or a buyer's return"
    )
    return_parcel: bool = Field(description="The buyer's return to the shop")
    shop_id: uuid.UUID | None
    tracking_number: str
    carrier: str | None
    carrier_given: str | None
    carrier_source: str
    carrier_class: str
    status: str
    provider_status: str | None
    status_at: dt.datetime | None
    last_scan_at: dt.datetime | None
    shipped_at: dt.datetime
    delivered_at: dt.datetime | None
    estimated_delivery: dt.date | None
    window_from: dt.date
    window_to: dt.date
    silent_route: bool
    stalled_at: dt.datetime | None
    presumed_lost_at: dt.datetime | None
    registered_at: dt.datetime | None
    registration_error: str | None
    next_check_at: dt.datetime | None
    created_at: dt.datetime
    events: list[ParcelEventOut] | None = None


class ParcelPage(BaseModel):
    parcels: list[ParcelOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


def _cursor(parcel: Parcel) -> str:
    return f"{parcel.created_at.isoformat()}_{parcel.id}"


def _parse_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, _, pid = cursor.partition("_")
        return dt.datetime.fromisoformat(at), uuid.UUID(pid)
    except ValueError as exc:
        raise ValidationFailed("cursor: not one this API gave") from exc


def _shops(who: Principal, shop_id: uuid.UUID | None) -> list[uuid.UUID] | None:
    allowed = who.shop_ids()
    if shop_id is not None:
        if allowed is not None and shop_id not in allowed:
            return []
        return [shop_id]
    return None if allowed is None else list(allowed)


@router.get("", response_model=ParcelPage, responses=error_responses({}))
async def list_parcels(
    rt: Runtime,
    who: Operator,
    status: ParcelStatus | None = None,
    order_id: uuid.UUID | None = None,
    shop_id: uuid.UUID | None = None,
    carrier: str | None = Query(default=None, max_length=40),
    stalled: bool | None = None,
    overdue: bool = Query(default=False, description="past the delivery window, not delivered"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=100),
) -> ParcelPage:
    after = _parse_cursor(cursor) if cursor else None
    async with rt.db.sessions() as session:
        rows = await ParcelRepository(session).search(
            status=status.value if status else None,
            order_id=order_id,
            shop_ids=_shops(who, shop_id),
            carrier=carrier,
            stalled=stalled,
            overdue_on=utcnow().date() if overdue else None,
            after=after,
            limit=limit,
        )
    return ParcelPage(
        parcels=[ParcelOut.model_validate(r) for r in rows],
        next_cursor=_cursor(rows[-1]) if len(rows) == limit else None,
    )


async def _visible(
    repo: ParcelRepository, who: Principal, parcel_id: uuid.UUID, *, for_update: bool = False
) -> Parcel:
    parcel = await repo.get(parcel_id, for_update=for_update)
    hidden = who.shops is not None and (
        parcel is None or parcel.shop_id is None or not who.sees_shop(parcel.shop_id)
    )
    if parcel is None or hidden:
        raise NotFound(f"no parcel {parcel_id}")
    return parcel


async def _detail(rt: Runtime, who: Principal, parcel_id: uuid.UUID) -> ParcelOut:
    async with rt.db.sessions() as session:
        parcel = await _visible(ParcelRepository(session), who, parcel_id)
        events = await TimelineRepository(session).of_parcel(parcel_id)
        out = ParcelOut.model_validate(parcel)
    out.events = [ParcelEventOut.model_validate(e) for e in events]
    return out


@router.get("/{parcel_id}", response_model=ParcelOut, responses=error_responses(PATH_ERRORS))
async def get_parcel(parcel_id: uuid.UUID, rt: Runtime, who: Operator) -> ParcelOut:
    return await _detail(rt, who, parcel_id)


class CarrierIn(BaseModel):
    carrier: str = Field(description="our carrier code (see the README's carrier table)")
    reason: str = Field(min_length=1, max_length=500)


@router.post(
    "/{parcel_id}/carrier",
    response_model=ParcelOut,
    responses=error_responses({**PATH_ERRORS, **BODY_ERRORS}),
)
async def correct_carrier(
    parcel_id: uuid.UUID, body: CarrierIn, rt: Runtime, who: Operator
) -> ParcelOut:
    """The carrier is corrected here and at the provider (17TRACK ``changecarrier``,
    AfterShip's slug), or nowhere: the provider's refusal leaves it as it was."""
    if body.carrier not in CARRIERS:
        raise ValidationFailed(f"carrier: unknown code {body.carrier!r}")
    async with rt.db.sessions() as session:
        parcel = await _visible(ParcelRepository(session), who, parcel_id)
        old, number, registered = parcel.carrier, parcel.tracking_number, parcel.registered_at
        account = (
            await AccountRepository(session).get(parcel.account_id) if parcel.account_id else None
        )
    if account is not None and registered is not None:
        try:
            await clients_of(rt).provider(account).change_carrier(number, old, body.carrier)
        except ProviderError as exc:
            raise ProviderUnavailableError(f"the provider did not take the change: {exc}") from exc
    now = utcnow()
    async with rt.db.transaction() as session:
        parcel = await _visible(ParcelRepository(session), who, parcel_id, for_update=True)
        parcel.carrier = body.carrier
        parcel.carrier_source = CarrierSource.OPERATOR.value
        parcel.carrier_class = carrier_class(body.carrier).value
        parcel.next_check_at = now
        await TimelineRepository(session).add_many(
            [
                {
                    "parcel_id": parcel.id,
                    "kind": "operator",
                    "occurred_at": now,
                    "status": None,
                    "provider_status": None,
                    "description": f"carrier {old} -> {body.carrier}: {body.reason}",
                    "location": None,
                    "dedupe_key": f"carrier:{now.isoformat()}",
                    "cause": who.actor,
                    "recorded_at": now,
                }
            ]
        )
    return await _detail(rt, who, parcel_id)


@router.post(
    "/{parcel_id}/recheck", response_model=ParcelOut, responses=error_responses(PATH_ERRORS)
)
async def recheck(parcel_id: uuid.UUID, rt: Runtime, who: Operator) -> ParcelOut:
    """Poll the provider for it in the next round (and the rules look at it again)."""
    now = utcnow()
    async with rt.db.transaction() as session:
        parcel = await _visible(ParcelRepository(session), who, parcel_id, for_update=True)
        parcel.next_check_at = now
        if ParcelStatus(parcel.status) not in FINAL:
            parcel.review_at = now
    return await _detail(rt, who, parcel_id)


class MarkIn(BaseModel):
    status: Literal["delivered", "lost"]
    reason: str = Field(min_length=1, max_length=500)


@router.post(
    "/{parcel_id}/mark",
    response_model=ParcelOut,
    responses=error_responses(
        {**PATH_ERRORS, **BODY_ERRORS, 409: "the parcel already has a final status"}
    ),
)
async def mark(parcel_id: uuid.UUID, body: MarkIn, rt: Runtime, who: Operator) -> ParcelOut:
    """Mark delivered or lost by hand (the buyer confirmed; the carrier declared it):
    kept on the timeline with the reason and who did it; published like any change."""
    now = utcnow()
    async with rt.db.transaction() as session:
        parcel = await _visible(ParcelRepository(session), who, parcel_id, for_update=True)
        if ParcelStatus(parcel.status) in FINAL:
            raise Conflict(f"the parcel is already {parcel.status}")
        await operator_status(
            session, rt.outbox, parcel, ParcelStatus(body.status), body.reason, who.actor, now
        )
    return await _detail(rt, who, parcel_id)
