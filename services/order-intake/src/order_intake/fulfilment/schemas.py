"""Fulfilment API shapes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict


class ParcelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tracking_number: str
    carrier: str
    tracking_url: str
    supplier_order_id: uuid.UUID
    line_ids: list[str]
    fulfilment_id: uuid.UUID | None
    shipped_at: dt.datetime
    status: str | None = None  # where it is, as logistics last said
    status_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None


class MilestoneOut(BaseModel):
    """A parcel's milestone written (or to be written) to the storefront."""

    model_config = ConfigDict(from_attributes=True)

    tracking_number: str
    milestone: str
    happened_at: dt.datetime
    status: str
    attempts: int
    last_error: str | None
    external_ref: str | None
    sent_at: dt.datetime | None


class FulfilmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    tracking_numbers: list[str]
    tracking_urls: list[str]
    carrier: str
    line_ids: list[str]
    completes_order: bool
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    external_ref: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


class OrderFulfilments(BaseModel):
    order_id: uuid.UUID
    parcels: list[ParcelOut]
    fulfilments: list[FulfilmentOut]
    milestones: list[MilestoneOut] = []
