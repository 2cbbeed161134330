"""From ``order.confirmed`` to supplier orders, one per supplier of the order's lines,
each carrying its shipping notice. Portal orders are placed at once; the others start
``pending``, due now, and the placement worker (woken after the commit) sends them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.order_intake import OrderConfirmed, OrderLineV1
from dropship_common.contracts.supplier_gateway import SupplierOrderPlaced
from dropship_common.db import insert_ignore, utcnow
from dropship_common.messaging.outbox import Outbox
from supplier_gateway.domain.deadlines import due_date
from supplier_gateway.domain.notice import MappedProduct, shipping_notice, split
from supplier_gateway.domain.supplier_order import Status
from supplier_gateway.mappings.repository import MappingRepository
from supplier_gateway.models import (
    ConfirmedOrder,
    Mapping,
    Supplier,
    SupplierOrder,
    SupplierOrderEvent,
    UnroutedLine,
)
from supplier_gateway.reships.outcomes import reship_placed
from supplier_gateway.supplier_emails.service import queue_new_order_email
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository
from supplier_gateway.supplier_orders.transitions import move

PLACE_FLAG = "supplier_orders_to_place"  # session.info: wake the placement worker


async def open_supplier_orders(
    session: AsyncSession, outbox: Outbox, order: OrderConfirmed, cause: str
) -> list[uuid.UUID]:
    """Idempotent: a second delivery of the same event creates nothing new. Orders for
    portal suppliers are placed at once (the portal shows them); the others stay
    ``pending`` until the placement worker has placed them through their adapter."""
    dialect = session.get_bind().dialect.name
    await session.execute(
        insert_ignore(ConfirmedOrder.__table__, dialect).values(
            order_id=order.order_id,
            shop_id=order.shop_id,
            payload=order.model_dump(mode="json"),
            received_at=utcnow(),
        )
    )
    created, unroutable = await _place_lines(session, outbox, order, order.lines, set(), cause)
    for line in unroutable:
        await session.execute(
            insert_ignore(UnroutedLine.__table__, dialect).values(
                id=uuid.uuid4(),
                order_id=order.order_id,
                shop_id=order.shop_id,
                line_id=line.line_id,
                sku=line.sku,
                destination_country=order.shipping_address.country_code,
                created_at=utcnow(),
            )
        )
    return created


async def reroute_rejected(
    session: AsyncSession, outbox: Outbox, rejected: SupplierOrder, cause: str
) -> tuple[list[uuid.UUID], list[OrderLineV1]]:
    """The rejected lines to the next mapped backup supplier not tried for this order.
    Returns the new supplier orders and the lines no backup is left for."""
    stored = await session.get(ConfirmedOrder, rejected.order_id)
    assert stored is not None
    order = OrderConfirmed.model_validate(stored.payload)
    line_ids = {uuid.UUID(i["line_id"]) for i in rejected.notice["items"]}
    tried = set(
        await session.scalars(
            sa.select(SupplierOrder.supplier_id).where(
                SupplierOrder.order_id == rejected.order_id,
                SupplierOrder.case_id.is_(None),
                SupplierOrder.status == Status.REJECTED.value,
            )
        )
    )
    tried.add(rejected.supplier_id)  # this one, even before its new status is flushed
    lines = [line for line in order.lines if line.line_id in line_ids]
    return await _place_lines(session, outbox, order, lines, tried, cause)


async def _place_lines(
    session: AsyncSession,
    outbox: Outbox,
    order: OrderConfirmed,
    lines: list[OrderLineV1],
    tried: set[uuid.UUID],
    cause: str,
) -> tuple[list[uuid.UUID], list[OrderLineV1]]:
    skus = [line.sku for line in lines if line.sku]
    products: dict[str, list[MappedProduct]] = {}
    suppliers: dict[uuid.UUID, Supplier] = {}
    for m, s in await MappingRepository(session).candidates(order.shop_id, skus):
        suppliers[s.id] = s
        products.setdefault(m.sku, []).append(mapped_product(m, s))
    plan = split(order, products, lines, tried)
    dialect = session.get_bind().dialect.name
    today = utcnow().date()
    created: list[uuid.UUID] = []
    left = list(plan.unroutable)
    for supplier_id, items in plan.by_supplier.items():
        new_id = uuid.uuid4()
        portal = suppliers[supplier_id].adapter == "portal"
        result = await session.execute(
            insert_ignore(SupplierOrder.__table__, dialect)
            .values(
                id=new_id,
                order_id=order.order_id,
                shop_id=order.shop_id,
                supplier_id=supplier_id,
                status="pending",
                notice=shipping_notice(order, items, today),
                created_at=utcnow(),
                updated_at=utcnow(),
                next_attempt_at=None if portal else utcnow(),
            )
            .returning(SupplierOrder.__table__.c.id)
        )
        if result.first() is None:
            # one supplier order per (order, supplier): a redelivery, or a backup that
            # already ships other lines of this order (those lines are not re-placed)
            if tried:
                left += [line for line, _ in items]
            continue
        session.add(
            SupplierOrderEvent(
                supplier_order_id=new_id,
                at=utcnow(),
                kind="created",
                to_status="pending",
                details={"lines": [str(line.line_id) for line, _ in items]},
                cause=cause,
            )
        )
        created.append(new_id)
        if not portal:
            session.info[PLACE_FLAG] = True
            continue
        row = await session.get(SupplierOrder, new_id)
        assert row is not None
        await mark_placed(session, outbox, row, suppliers[supplier_id], cause, via="portal")
        queue_new_order_email(session, row, suppliers[supplier_id])
    return created, left


def mapped_product(m: Mapping, s: Supplier) -> MappedProduct:
    """A mapping as routing and the shipping notice read it."""
    return MappedProduct(
        m.supplier_id,
        m.supplier_product_id,
        m.supplier_variant_id,
        m.customs_description,
        m.hs_code,
        m.weight_grams,
        m.priority,
        m.destination_country,
        s.active,
        m.unit_cost,
        m.currency,
    )


async def mark_placed(
    session: AsyncSession,
    outbox: Outbox,
    row: SupplierOrder,
    supplier: Supplier,
    cause: str,
    *,
    via: str,
) -> None:
    """Placed: the supplier's clock starts (ship-by = now + its handling business days).
    A reship tells aftersales (``supplier.reship_placed``), not the order."""
    now = utcnow()
    row.placed_at = now
    row.ship_by = due_date(now, supplier.handling_days, supplier.holiday_country)
    move(session, row, Status.PLACED, cause, {"via": via, "ship_by": row.ship_by.isoformat()})
    if row.case_id is not None:
        await reship_placed(session, outbox, row, cause)
        return
    cost = (row.notice or {}).get("goods_cost") or {}
    placed = SupplierOrderPlaced(
        order_id=row.order_id, supplier_order_id=row.id, supplier_id=row.supplier_id,
        placed_at=now, goods_cost=cost.get("amount"), currency=cost.get("currency"),
    )  # fmt: skip
    await outbox.add(
        session, [placed.envelope(correlation_id=str(row.order_id), causation_id=cause)]
    )


async def of_order(session: AsyncSession, order_id: uuid.UUID) -> list[SupplierOrder]:
    return await listed(session, order_id, None, None)


async def listed(
    session: AsyncSession,
    order_id: uuid.UUID | None,
    status: Status | None,
    limit: int | None,
    shops: frozenset[uuid.UUID] | None = None,
) -> list[SupplierOrder]:
    """Supplier orders of an order and/or in a status, oldest first; only of ``shops``
    when given (an operator key limited to shops)."""
    return await SupplierOrderRepository(session).search(order_id, status, limit, shops)


async def unrouted(
    session: AsyncSession, order_id: uuid.UUID, shops: frozenset[uuid.UUID] | None = None
) -> list[UnroutedLine]:
    return await SupplierOrderRepository(session).unrouted(order_id, shops)


async def timeline(session: AsyncSession, supplier_order_id: uuid.UUID) -> list[SupplierOrderEvent]:
    return await SupplierOrderRepository(session).timeline(supplier_order_id)
