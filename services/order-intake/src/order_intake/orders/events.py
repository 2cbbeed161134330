"""Integration events built from an order (what other services receive)."""

from __future__ import annotations

from typing import Any

from dropship_common.contracts.order_intake import (
    AddressV1,
    BuyerV1,
    OrderConfirmed,
    OrderLineV1,
    WishV1,
)
from dropship_common.money import money
from order_intake.models import Order, Shop


def address_v1(address: dict[str, Any]) -> AddressV1:
    return AddressV1.model_validate({k: address.get(k) for k in AddressV1.model_fields})


def confirmed_event(order: Order, shop: Shop) -> OrderConfirmed:
    assert order.shipping_address is not None
    assert order.confirmed_at is not None and order.ship_by is not None
    return OrderConfirmed(
        order_id=order.id,
        shop_id=order.shop_id,
        platform=order.platform,
        external_id=order.external_id,
        number=order.number,
        currency=order.currency,
        total_price=money(order.total_price),
        shipping_method=order.shipping_method,
        buyer=BuyerV1(
            name=order.buyer.get("name"),
            email=order.buyer.get("email"),
            phone=order.buyer.get("phone") or order.shipping_address.get("phone"),
            language=order.buyer.get("language") or shop.buyer_language,
        ),
        shipping_address=address_v1(order.shipping_address),
        lines=[
            OrderLineV1(
                line_id=line.id,
                sku=line.effective_sku,
                external_product_id=line.external_product_id,
                external_variant_id=line.external_variant_id,
                title=line.title,
                variant_title=line.variant_title,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                grams=line.grams,
                properties=[WishV1(**p) for p in line.properties],
            )
            for line in order.lines
        ],
        note=order.note,
        note_attributes=[WishV1(**w) for w in order.note_attributes],
        confirmed_at=order.confirmed_at,
        ship_by=order.ship_by,
    )
