"""``aftersales.reship_requested``: a new supplier order for the case's lines, linked to
the original and to the case, placed through the same machinery as any supplier order
(the placement worker for API suppliers, at once for portal ones), exactly once per
case: the first delivery claims the case (``reships``), any other finds it claimed.

A line's ``sku`` sends that SKU instead of the line's own (an exchange's other size),
mapped through the shop's mappings like the original. The supplier is the original's,
or ``supplier_id`` (a backup); the buyer and address are the ones supplier-gateway kept
from ``order.confirmed``. The supplier sees a ``replacement`` block in the notice."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.aftersales import AftersalesReshipRequested
from dropship_common.contracts.order_intake import OrderConfirmed, OrderLineV1
from dropship_common.db import utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.domain.notice import MappedProduct, shipping_notice, split
from supplier_gateway.mappings.repository import MappingRepository
from supplier_gateway.models import ConfirmedOrder, Supplier, SupplierOrder, SupplierOrderEvent
from supplier_gateway.reships.outcomes import reship_failed
from supplier_gateway.reships.repository import ReshipRepository
from supplier_gateway.supplier_emails.service import queue_new_order_email
from supplier_gateway.supplier_orders.service import PLACE_FLAG, mapped_product, mark_placed
from supplier_gateway.suppliers.repository import SupplierRepository


class NotPlaceable(Exception):
    """Why a reship cannot be placed (a ``supplier.reship_failed`` code and message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def request_reship(
    session: AsyncSession, outbox: Outbox, event: AftersalesReshipRequested, cause: str
) -> uuid.UUID | None:
    """The new supplier order's id; None when the case was already handled or the reship
    cannot be placed (then ``supplier.reship_failed``)."""
    repo = ReshipRepository(session)
    if not await repo.claim_case(
        event.case_id, event.order_id, event.original_supplier_order_id, event.attempt
    ):
        return None
    try:
        return await _open(session, outbox, event, cause)
    except NotPlaceable as exc:
        await reship_failed(session, outbox, event.case_id, exc.code, exc.message, cause)
        return None


async def _open(
    session: AsyncSession, outbox: Outbox, event: AftersalesReshipRequested, cause: str
) -> uuid.UUID:
    stored = await session.get(ConfirmedOrder, event.order_id)
    if stored is None:
        raise NotPlaceable("unknown_order", "supplier-gateway never received this order")
    order = OrderConfirmed.model_validate(stored.payload)
    if not order.shipping_address.line1:
        raise NotPlaceable("unknown_order", "the order's address was redacted")
    original = await _original(session, event)
    supplier_id = event.supplier_id or (original.supplier_id if original else None)
    if supplier_id is None:
        raise NotPlaceable("unknown_order", "no supplier order of the order holds these lines")
    supplier = await SupplierRepository(session).get(supplier_id)
    if supplier is None:
        raise NotPlaceable("unmapped", f"no supplier {supplier_id}")
    lines = _lines(order, event)
    items, costs = await _mapped(session, order, lines, supplier)
    notice = shipping_notice(order, items, utcnow().date())
    notice["replacement"] = {
        "case_id": str(event.case_id),
        "replaces_supplier_order_id": str(original.id) if original else None,
        "reason": event.reason[:300],
    }
    row = SupplierOrder(
        id=uuid.uuid4(),
        order_id=order.order_id,
        shop_id=order.shop_id,
        supplier_id=supplier.id,
        status="pending",
        notice=notice,
        case_id=event.case_id,
        replaces_id=original.id if original else None,
        next_attempt_at=None if supplier.adapter == "portal" else utcnow(),
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(row)
    session.add(
        SupplierOrderEvent(
            supplier_order_id=row.id,
            at=utcnow(),
            kind="created",
            to_status="pending",
            details={
                "lines": [str(line.line_id) for line, _ in items],
                "reship_of_case": str(event.case_id),
                "replaces": notice["replacement"]["replaces_supplier_order_id"],
            },
            cause=cause,
        )
    )
    await session.flush()
    reship = await ReshipRepository(session).locked(event.case_id)
    assert reship is not None
    reship.supplier_order_id = row.id
    reship.original_supplier_order_id = row.replaces_id
    reship.goods_cost, reship.currency = costs
    if supplier.adapter != "portal":
        session.info[PLACE_FLAG] = True
        return row.id
    await mark_placed(session, outbox, row, supplier, cause, via="portal")
    queue_new_order_email(session, row, supplier)
    return row.id


async def _original(
    session: AsyncSession, event: AftersalesReshipRequested
) -> SupplierOrder | None:
    """The supplier order the reship replaces: the one named, or the order's own one
    that holds the first of the case's lines."""
    if event.original_supplier_order_id is not None:
        named = await session.get(SupplierOrder, event.original_supplier_order_id)
        if named is None or named.order_id != event.order_id:
            raise NotPlaceable(
                "unknown_order",
                f"no supplier order {event.original_supplier_order_id} of the order",
            )
        return named
    wanted = {str(line.line_id) for line in event.lines}
    for row in await ReshipRepository(session).originals_of(event.order_id):
        if wanted & {item["line_id"] for item in row.notice.get("items") or []}:
            return row
    return None


def _lines(order: OrderConfirmed, event: AftersalesReshipRequested) -> list[OrderLineV1]:
    """The order's lines as the reship sends them: the case's units, its SKU if given."""
    by_id = {line.line_id: line for line in order.lines}
    lines = []
    for wanted in event.lines:
        line = by_id.get(wanted.line_id)
        if line is None:
            raise NotPlaceable("unknown_order", f"line {wanted.line_id} is not in the order")
        lines.append(
            line.model_copy(update={"quantity": wanted.quantity, "sku": wanted.sku or line.sku})
        )
    return lines


async def _mapped(
    session: AsyncSession, order: OrderConfirmed, lines: list[OrderLineV1], supplier: Supplier
) -> tuple[list[tuple[OrderLineV1, MappedProduct]], tuple[Decimal | None, str | None]]:
    """Each line through the shop's mapping to this supplier (for the destination first);
    the goods' cost when the mappings share one currency."""
    skus = [line.sku for line in lines if line.sku]
    products: dict[str, list[MappedProduct]] = {}
    unit_costs: dict[tuple[str, str | None], tuple[Decimal, str]] = {}
    for m, s in await MappingRepository(session).candidates(order.shop_id, skus):
        if s.id != supplier.id:
            continue
        unit_costs[(m.sku, m.destination_country)] = (m.unit_cost, m.currency)
        products.setdefault(m.sku, []).append(mapped_product(m, s))
    plan = split(order, products, lines)
    if plan.unroutable:
        missing = ", ".join(
            sorted({line.sku or f"line {line.line_id}" for line in plan.unroutable})
        )
        country = order.shipping_address.country_code
        raise NotPlaceable(
            "unmapped",
            f"{supplier.name} is not an active supplier mapped for {missing} (to {country})",
        )
    items = plan.by_supplier[supplier.id]
    costs: list[tuple[tuple[Decimal, str], int]] = [
        (unit_costs[(line.sku or "", p.destination_country)], line.quantity) for line, p in items
    ]
    currencies = {currency for (_, currency), _ in costs}
    if len(currencies) != 1:
        return items, (None, None)
    total = sum((cost * qty for (cost, _), qty in costs), Decimal("0"))
    return items, (total, currencies.pop())
