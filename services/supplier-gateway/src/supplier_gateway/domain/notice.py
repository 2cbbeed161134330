"""From a confirmed order to one shipping notice per supplier (发货通知单): who and
where, the items with the buyer's wishes, and the customs declaration at the true
value. Pure: the mappings are given."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dropship_common.contracts.order_intake import OrderConfirmed, OrderLineV1
from supplier_gateway.domain.customs import assess
from supplier_gateway.domain.routing import Candidate, choose


@dataclass(frozen=True)
class MappedProduct:
    supplier_id: uuid.UUID
    supplier_product_id: str
    supplier_variant_id: str | None
    customs_description: str
    hs_code: str | None
    weight_grams: int
    priority: int
    destination_country: str | None
    active: bool
    unit_cost: Decimal | None = None  # what the supplier charges, in cost_currency
    cost_currency: str | None = None


@dataclass
class Split:
    by_supplier: dict[uuid.UUID, list[tuple[OrderLineV1, MappedProduct]]] = field(
        default_factory=dict
    )
    unroutable: list[OrderLineV1] = field(default_factory=list)


def split(
    order: OrderConfirmed,
    products: dict[str, list[MappedProduct]],
    lines: list[OrderLineV1] | None = None,
    tried: set[uuid.UUID] | frozenset[uuid.UUID] = frozenset(),
) -> Split:
    """Each line (all, or ``lines``) to its best supplier for the destination that was
    not ``tried`` yet; lines without a usable mapping are returned apart."""
    country = order.shipping_address.country_code
    result = Split()
    for line in order.lines if lines is None else lines:
        options = products.get(line.sku or "", [])
        cands = [
            Candidate(p.supplier_id, p.priority, p.destination_country, p.active) for p in options
        ]
        best = choose(cands, country, tried)
        if best is None:
            result.unroutable.append(line)
            continue
        product = next(
            p
            for p in options
            if p.supplier_id == best.supplier_id
            and p.destination_country == best.destination_country
        )
        result.by_supplier.setdefault(best.supplier_id, []).append((line, product))
    return result


def _wishes(items: Any) -> list[dict[str, str]]:
    return [{"name": w.name, "value": w.value} for w in items]


def goods_cost(items: list[tuple[OrderLineV1, MappedProduct]]) -> dict[str, str] | None:
    """What the supplier charges for the goods (its mapped costs times the quantities),
    when every line has a cost in one currency: aftersales' reship estimates."""
    currencies = {p.cost_currency for _, p in items}
    if not items or any(p.unit_cost is None for _, p in items) or len(currencies) != 1:
        return None
    total = sum((p.unit_cost or Decimal(0)) * line.quantity for line, p in items)
    return {"amount": str(total), "currency": str(currencies.pop())}


OURS_ONLY = ("goods_cost",)  # kept on the row for aftersales, never sent to a supplier


def supplier_view(notice: dict[str, Any]) -> dict[str, Any]:
    """The notice as a supplier sees it (its API, the http protocol)."""
    return {k: v for k, v in notice.items() if k not in OURS_ONLY}


def shipping_notice(
    order: OrderConfirmed, items: list[tuple[OrderLineV1, MappedProduct]], on: dt.date
) -> dict[str, Any]:
    a = order.shipping_address
    value = sum((line.unit_price * line.quantity for line, _ in items), Decimal("0"))
    country = a.country_code or ""
    customs = assess(country, value, order.currency, on)
    return {
        "order_number": order.number,
        "goods_cost": goods_cost(items),
        "recipient": {
            "name": a.name,
            "phone": a.phone or order.buyer.phone,
            "company": a.company,
            "line1": a.line1,
            "line2": a.line2,
            "city": a.city,
            "province": a.province,
            "postal_code": a.postal_code,
            "country_code": a.country_code,
        },
        "shipping_method": order.shipping_method,
        "ship_by": order.ship_by.isoformat(),
        "buyer_note": order.note,
        "buyer_wishes": _wishes(order.note_attributes),
        "items": [
            {
                "line_id": str(line.line_id),
                "sku": line.sku,
                "supplier_product_id": p.supplier_product_id,
                "supplier_variant_id": p.supplier_variant_id,
                "title": line.title,
                "variant": line.variant_title,
                "quantity": line.quantity,
                "wishes": _wishes(line.properties),
            }
            for line, p in items
        ],
        "customs": {
            "currency": order.currency,
            "total_value": str(value),  # the true transaction value, never less
            "items": [
                {
                    "description": p.customs_description,
                    "hs_code": p.hs_code,
                    "quantity": line.quantity,
                    "unit_value": str(line.unit_price),
                    "weight_grams": p.weight_grams * line.quantity,
                }
                for line, p in items
            ],
            "threshold_rule": customs.rule,
            "threshold": None if customs.threshold is None else str(customs.threshold),
            "threshold_currency": customs.threshold_currency,
            "threshold_crossed": customs.crossed,
        },
    }
