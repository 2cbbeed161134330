"""What a supplier sends to answer an order: the one set of limits for the http API
(``/v1/supplier/orders``) and the portal's forms alike."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Reject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        description="out_of_stock | discontinued | cannot_ship_to_destination | other"
    )
    note: str | None = Field(default=None, max_length=1000)
    restock_date: dt.date | None = None


class Ship(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: str = Field(min_length=1, max_length=100)
    tracking_numbers: list[str] = Field(min_length=1, max_length=20)
