"""Between the stored order and the pure domain: the canonical view of a row (with the
operator's corrections applied), and applying a storefront's version to a row."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from pydantic import BaseModel

from order_intake.domain.order import Address, Buyer, CanonicalOrder, OrderLine, Wish
from order_intake.models import Order
from order_intake.models import OrderLine as LineRow


def issue_dict(issue: Any) -> dict[str, Any]:
    if isinstance(issue, BaseModel):
        return issue.model_dump(mode="json")
    if dataclasses.is_dataclass(issue) and not isinstance(issue, type):
        return dataclasses.asdict(issue)
    return dict(issue)


def _wishes(items: list[dict[str, str]]) -> tuple[Wish, ...]:
    return tuple(Wish(name=i["name"], value=i["value"]) for i in items)


def view_of(order: Order) -> CanonicalOrder:
    """The order as the domain sees it now: operator's address and SKU fixes included."""
    return CanonicalOrder(
        platform=order.platform,
        external_id=order.external_id,
        number=order.number,
        currency=order.currency,
        total_price=order.total_price,
        subtotal_price=order.subtotal_price,
        total_tax=order.total_tax,
        shipping_price=order.shipping_price,
        shipping_method=order.shipping_method,
        payment_status=order.payment_status,
        cancelled=order.cancelled_at_source,
        buyer=Buyer.model_validate(order.buyer),
        shipping_address=(
            Address.model_validate(order.shipping_address) if order.shipping_address else None
        ),
        billing_address=(
            Address.model_validate(order.billing_address) if order.billing_address else None
        ),
        lines=tuple(
            OrderLine(
                external_id=line.external_id,
                sku=line.effective_sku,
                external_product_id=line.external_product_id,
                external_variant_id=line.external_variant_id,
                title=line.title,
                variant_title=line.variant_title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                grams=line.grams,
                requires_shipping=line.requires_shipping,
                properties=_wishes(line.properties),
            )
            for line in order.lines
        ),
        note=order.note,
        note_attributes=_wishes(order.note_attributes),
        placed_at=order.placed_at,
        source_updated_at=order.source_updated_at,
        test=order.test,
    )


def _wish_rows(wishes: tuple[Wish, ...]) -> list[dict[str, str]]:
    # what model_dump gives, without its cost (several per order on the webhook path)
    return [{"name": w.name, "value": w.value} for w in wishes]


def apply_version(order: Order, co: CanonicalOrder) -> None:
    """Write the storefront's newest version into the row. The operator's corrections
    (address, SKU mapping) survive a storefront update."""
    order.platform = co.platform.value
    order.number = co.number
    order.currency = co.currency.upper()
    order.total_price = co.total_price
    order.subtotal_price = co.subtotal_price
    order.total_tax = co.total_tax
    order.shipping_price = co.shipping_price
    order.shipping_method = co.shipping_method
    order.payment_status = co.payment_status.value
    order.cancelled_at_source = co.cancelled
    buyer = co.buyer.model_dump(mode="json")
    order.buyer = buyer
    order.buyer_email = (co.buyer.email or "").strip().lower() or None
    if not order.address_overridden:
        order.shipping_address = (
            co.shipping_address.model_dump(mode="json") if co.shipping_address else None
        )
    order.billing_address = (
        co.billing_address.model_dump(mode="json") if co.billing_address else None
    )
    order.note = co.note
    order.note_attributes = _wish_rows(co.note_attributes)
    order.placed_at = co.placed_at
    order.source_updated_at = co.source_updated_at
    order.test = co.test
    overrides = {line.external_id: line.sku_override for line in order.lines if line.external_id}
    existing = {line.external_id: line for line in order.lines if line.external_id}
    new_lines: list[LineRow] = []
    for position, line in enumerate(co.lines):
        row = existing.get(line.external_id) if line.external_id else None
        if row is None:
            row = LineRow(id=uuid.uuid4(), order_id=order.id)
        row.position = position
        row.external_id = line.external_id
        row.sku = line.sku
        row.sku_override = overrides.get(line.external_id) if line.external_id else None
        row.external_product_id = line.external_product_id
        row.external_variant_id = line.external_variant_id
        row.title = line.title
        row.variant_title = line.variant_title
        row.quantity = line.quantity
        row.unit_price = line.unit_price
        row.grams = line.grams
        row.requires_shipping = line.requires_shipping
        row.properties = _wish_rows(line.properties)
        new_lines.append(row)
    order.lines = new_lines
