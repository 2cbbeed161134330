"""Order API shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dropship_common.money import money
from order_intake.models import Order, OrderEvent


class Wish(BaseModel):
    name: str
    value: str


class LineOut(BaseModel):
    id: uuid.UUID
    external_id: str | None
    sku: str | None
    sku_override: str | None
    external_product_id: str | None
    external_variant_id: str | None
    title: str
    variant_title: str | None
    quantity: int
    unit_price: Decimal
    grams: int | None
    properties: list[Wish]


class TimelineEntry(BaseModel):
    at: dt.datetime
    kind: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    details: dict[str, Any] | None
    cause: str | None
    actor: str


class OrderOut(BaseModel):
    id: uuid.UUID
    shop_id: uuid.UUID
    platform: str
    external_id: str
    number: str | None
    status: str
    payment_status: str
    currency: str
    total_price: Decimal
    subtotal_price: Decimal | None
    total_tax: Decimal | None
    shipping_price: Decimal | None
    shipping_method: str | None
    buyer: dict[str, Any]
    shipping_address: dict[str, Any] | None
    note: str | None
    note_attributes: list[Wish]
    hold_reasons: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    placed_at: dt.datetime
    source_updated_at: dt.datetime
    confirmed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    handed_off_at: dt.datetime | None
    ship_by: dt.date | None
    created_at: dt.datetime
    lines: list[LineOut]
    timeline: list[TimelineEntry] | None = None


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    company: str | None = None
    line1: str = Field(min_length=1, max_length=255)
    line2: str | None = None
    city: str = Field(min_length=1, max_length=255)
    province: str | None = None
    province_code: str | None = None
    postal_code: str | None = None
    country_code: str = Field(min_length=2, max_length=2)
    phone: str | None = None


class LineSkuIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=255)


class ActionResult(BaseModel):
    """``applied`` before hand-off; ``requested`` after (published for the next owner)."""

    result: Literal["applied", "cancelled", "requested"]
    order: OrderOut


def _m(value: Decimal | None) -> Decimal | None:
    return None if value is None else money(value)


def order_out(order: Order, timeline: list[OrderEvent] | None = None) -> OrderOut:
    return OrderOut(
        id=order.id,
        shop_id=order.shop_id,
        platform=order.platform,
        external_id=order.external_id,
        number=order.number,
        status=order.status,
        payment_status=order.payment_status,
        currency=order.currency,
        total_price=_m(order.total_price),
        subtotal_price=_m(order.subtotal_price),
        total_tax=_m(order.total_tax),
        shipping_price=_m(order.shipping_price),
        shipping_method=order.shipping_method,
        buyer=order.buyer,
        shipping_address=order.shipping_address,
        note=order.note,
        note_attributes=[Wish(**w) for w in order.note_attributes],
        hold_reasons=order.hold_reasons,
        warnings=order.warnings,
        placed_at=order.placed_at,
        source_updated_at=order.source_updated_at,
        confirmed_at=order.confirmed_at,
        cancelled_at=order.cancelled_at,
        handed_off_at=order.handed_off_at,
        ship_by=order.ship_by,
        created_at=order.created_at,
        lines=[
            LineOut(
                id=ln.id,
                external_id=ln.external_id,
                sku=ln.sku,
                sku_override=ln.sku_override,
                external_product_id=ln.external_product_id,
                external_variant_id=ln.external_variant_id,
                title=ln.title,
                variant_title=ln.variant_title,
                quantity=ln.quantity,
                unit_price=money(ln.unit_price),
                grams=ln.grams,
                properties=[Wish(**p) for p in ln.properties],
            )
            for ln in order.lines
        ],
        timeline=(
            [
                TimelineEntry(
                    at=e.at,
                    kind=e.kind,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    reason=e.reason,
                    details=e.details,
                    cause=e.cause,
                    actor=e.actor,
                )
                for e in timeline
            ]
            if timeline is not None
            else None
        ),
    )
