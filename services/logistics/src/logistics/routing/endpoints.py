"""``/v1/routing``: the tables behind the rules, editable by an admin.

* silent routes: destinations whose postal air parcels lose tracking after leaving
  China (not declared lost for silence alone);
* transit times: the expected delivery window per carrier class and destination, for
  every shop or one;
* a shop's follow-up numbers (7 / 30 / 40 / 120 days by default).
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from dropship_common.deps import Admin, Operator, Runtime
from dropship_common.errors import BODY_ERRORS, PATH_ERRORS, NotFound, error_responses
from logistics.models import ShopFollowUp, TransitTime
from logistics.parcels.repository import RoutingRepository

router = APIRouter(prefix="/v1/routing", tags=["routing rules"])

ClassName = Literal["express", "postal"]


class SilentRouteOut(BaseModel):
    model_config = {"from_attributes": True}

    country: str
    carrier_class: str
    note: str | None


class SilentRouteIn(BaseModel):
    note: str | None = Field(default=None, max_length=200)


@router.get("/silent-routes", response_model=list[SilentRouteOut], responses=error_responses({}))
async def silent_routes(rt: Runtime, _: Operator) -> list[SilentRouteOut]:
    async with rt.db.sessions() as session:
        rows = await RoutingRepository(session).silent_routes()
        return [SilentRouteOut.model_validate(r) for r in rows]


@router.put(
    "/silent-routes/{carrier_class}/{country}",
    response_model=SilentRouteOut,
    responses=error_responses(BODY_ERRORS),
)
async def put_silent_route(
    carrier_class: ClassName, country: str, body: SilentRouteIn, rt: Runtime, _: Admin
) -> SilentRouteOut:
    country = _country(country)
    async with rt.db.transaction() as session:
        await RoutingRepository(session).put_silent_route(country, carrier_class, body.note)
    return SilentRouteOut(country=country, carrier_class=carrier_class, note=body.note)


@router.delete(
    "/silent-routes/{carrier_class}/{country}",
    status_code=204,
    responses=error_responses(PATH_ERRORS),
)
async def delete_silent_route(
    carrier_class: ClassName, country: str, rt: Runtime, _: Admin
) -> None:
    async with rt.db.transaction() as session:
        if not await RoutingRepository(session).delete_silent_route(
            _country(country), carrier_class
        ):
            raise NotFound(f"no silent route {carrier_class}/{country}")


def _country(value: str) -> str:
    from dropship_common.errors import ValidationFailed

    if len(value) != 2 or not value.isalpha():
        raise ValidationFailed("country: an ISO 3166-1 alpha-2 code")
    return value.upper()


class TransitIn(BaseModel):
    shop_id: uuid.UUID | None = Field(default=None, description="none: every shop")
    carrier_class: ClassName
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="none: every destination"
    )
    min_days: int = Field(ge=0, le=120)
    max_days: int = Field(ge=1, le=120)

    @model_validator(mode="after")
    def _ordered(self) -> TransitIn:
        if self.max_days < self.min_days:
            raise ValueError("max_days must be at least min_days")
        return self


@router.put("/transit-times", response_model=TransitIn, responses=error_responses(BODY_ERRORS))
async def put_transit(body: TransitIn, rt: Runtime, _: Admin) -> TransitIn:
    """Applies to parcels opened from now on (a parcel's window is set when it ships)."""
    async with rt.db.transaction() as session:
        await RoutingRepository(session).put_transit(
            TransitTime(
                shop_key=str(body.shop_id) if body.shop_id else "*",
                carrier_class=body.carrier_class,
                country=body.country or "*",
                min_days=body.min_days,
                max_days=body.max_days,
            )
        )
    return body


class FollowUpIn(BaseModel):
    express_follow_up_days: int = Field(default=7, ge=1, le=60)
    postal_follow_up_days: int = Field(default=30, ge=1, le=90)
    lost_after_days: int = Field(default=40, ge=7, le=120)
    max_window_days: int = Field(default=120, ge=30, le=120)


@router.put(
    "/shops/{shop_id}/follow-ups", response_model=FollowUpIn, responses=error_responses(BODY_ERRORS)
)
async def put_follow_ups(shop_id: uuid.UUID, body: FollowUpIn, rt: Runtime, _: Admin) -> FollowUpIn:
    async with rt.db.transaction() as session:
        await RoutingRepository(session).put_policy(
            ShopFollowUp(shop_id=shop_id, **body.model_dump())
        )
    return body
