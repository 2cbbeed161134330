"""What the buyer page tests share: an order copy from ``order.confirmed``, the forms'
tokens read from the page, photos made with Pillow."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from PIL import Image, ImageDraw

from aftersales.models import Case, common
from dropship_common.contracts.order_intake import AddressV1, BuyerV1, OrderConfirmed, OrderLineV1
from dropship_common.messaging.envelope import Envelope
from dropship_testkit.tap import eventually

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
EMAIL = "Lena.Buyer@example.com"


def order(language: str = "en", number: str = "#1042") -> OrderConfirmed:
    return OrderConfirmed(
        order_id=uuid.uuid4(), shop_id=uuid.uuid4(), platform="shopify", external_id="1",
        number=number, currency="EUR", total_price=Decimal("64.00"), shipping_method=None,
        buyer=BuyerV1(name="Lena", email=EMAIL, phone=None, language=language),
        shipping_address=AddressV1(name="Lena", line1="Street 1", city="Berlin",
                                   postal_code="10117", country_code="DE"),
        lines=[
            OrderLineV1(line_id=uuid.uuid4(), sku="MUG", title="Blue mug", quantity=2,
                        unit_price=Decimal("17.00")),
            OrderLineV1(line_id=uuid.uuid4(), sku="TEE-M", title="T-shirt M", quantity=1,
                        unit_price=Decimal("30.00")),
        ],
        note=None, note_attributes=[], confirmed_at=NOW, ship_by=NOW.date(),
    )  # fmt: skip


async def known(svc: Any, event: OrderConfirmed) -> None:
    """Publish the order and wait until aftersales processed it."""
    envelope: Envelope = event.envelope(correlation_id=str(event.order_id))
    await svc.runtime.bus.publish([envelope])
    inbox = common.inbox

    async def probe() -> bool:
        async with svc.runtime.db.sessions() as s:
            found = await s.scalar(
                sa.select(sa.func.count()).select_from(inbox)
                .where(inbox.c.message_id == uuid.UUID(str(envelope.id)))
            )  # fmt: skip
        return bool(found)

    await eventually(probe)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form has no token"
    return found.group(1)


def photo(fmt: str = "JPEG", size: tuple[int, int] = (400, 300)) -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle((40, 40, size[0] - 40, size[1] - 40), fill=(180, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def noisy_png(side: int) -> bytes:
    """A real PNG that does not compress: about 3 bytes a pixel."""
    image = Image.frombytes(
        "RGB", (side, side), bytes(random.Random(side).randbytes(3 * side * side))
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def cases_of(svc: Any, order_id: uuid.UUID) -> list[Case]:
    async with svc.runtime.db.sessions() as s:
        return list(await s.scalars(sa.select(Case).where(Case.order_id == order_id)))
