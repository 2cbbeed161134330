"""Shared by logistics' integration tests: events in, the service's rows out."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from dropship_common.contracts.order_intake import (
    AddressV1,
    BuyerV1,
    OrderConfirmed,
    OrderLineV1,
)
from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.messaging.envelope import Envelope
from dropship_testkit.pytest_plugin import RunningService
from dropship_testkit.tap import eventually
from logistics.models import Parcel, common

SHIPPED = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)


def confirmed(country: str = "DE", language: str = "en") -> OrderConfirmed:
    return OrderConfirmed(
        order_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        platform="shopify",
        external_id="1",
        number="#1",
        currency="EUR",
        total_price=Decimal("20"),
        shipping_method="Standard",
        buyer=BuyerV1(name="Lena", email="lena@example.com", phone=None, language=language),
        shipping_address=AddressV1(
            name="Lena",
            line1="Unter den Linden 5",
            city="Berlin",
            postal_code="10117",
            country_code=country,
        ),
        lines=[
            OrderLineV1(
                line_id=uuid.uuid4(), sku="MUG", title="Mug", quantity=1, unit_price=Decimal("20")
            )
        ],
        note=None,
        note_attributes=[],
        confirmed_at=SHIPPED - dt.timedelta(days=2),
        ship_by=SHIPPED.date(),
    )


def assigned(
    order: OrderConfirmed,
    numbers: list[str],
    carrier: str = "China Post",
    shipped_at: dt.datetime = SHIPPED,
) -> ShipmentTrackingAssigned:
    return ShipmentTrackingAssigned(
        order_id=order.order_id,
        supplier_order_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        line_ids=[line.line_id for line in order.lines],
        carrier=carrier,
        tracking_numbers=numbers,
        shipped_at=shipped_at,
    )


async def publish(svc: RunningService, event: Any) -> Envelope:
    envelope: Envelope = event.envelope(correlation_id=str(event.order_id))
    await svc.runtime.bus.publish([envelope])
    return envelope


async def processed(svc: RunningService, envelope: Envelope) -> None:
    inbox = common.inbox

    async def probe() -> bool:
        async with svc.runtime.db.sessions() as s:
            found = await s.scalar(
                sa.select(sa.func.count())
                .select_from(inbox)
                .where(inbox.c.message_id == uuid.UUID(str(envelope.id)))
            )
        return bool(found)

    await eventually(probe)


async def parcels_of(svc: RunningService, order_id: uuid.UUID) -> list[Parcel]:
    async with svc.runtime.db.sessions() as s:
        rows = await s.scalars(
            sa.select(Parcel).where(Parcel.order_id == order_id).order_by(Parcel.tracking_number)
        )
        return list(rows)
