"""Messages aftersales consumes: its handler registry, by contract model.

``order.confirmed`` gives the copy a case is valued from (currency, lines, prices; no
name, no address); ``order.redacted`` removes the buyer's words from its cases;
logistics' ``shipment.presumed_lost`` opens a ``lost`` case and a ``returned_to_sender``
status a ``returned_to_sender`` case, once per parcel (the events do not say which
lines a parcel holds: the case covers the order's lines). Cancellation and address
requests after hand-off are still parked (``parked_events``): supplier-gateway's
answers open the cases instead (a cancellation too late to stop is a return on
arrival, an address change too late is intercepted or explained), once per supplier
order.
"""

from __future__ import annotations

import uuid

import structlog

from aftersales.cases.repository import CaseRepository, OrderCopyRepository
from aftersales.cases.service import open_case
from aftersales.domain.cases import CaseType
from aftersales.models import Case, parked_events
from dropship_common.contracts.logistics import ShipmentPresumedLost, ShipmentStatusChanged
from dropship_common.contracts.order_intake import (
    OrderAddressChangeRequested,
    OrderCancellationRequested,
    OrderConfirmed,
    OrderDiscountCreated,
    OrderRedacted,
    OrderRefundFailed,
    OrderRefundRecorded,
    OrderReturnRequested,
)
from dropship_common.contracts.supplier_gateway import (
    SupplierAddressChangeAnswered,
    SupplierCancellationAnswered,
    SupplierReshipFailed,
    SupplierReshipPlaced,
)
from dropship_common.db import utcnow
from dropship_common.messaging.handlers import Handlers, MessageContext
from dropship_common.tracking_links import email_digest

log = structlog.get_logger(__name__)

registry = Handlers("aftersales")
registry.parks(
    parked_events,
    [
        OrderCancellationRequested,
        OrderAddressChangeRequested,
        OrderRefundRecorded,
        OrderRefundFailed,
        OrderDiscountCreated,
        OrderReturnRequested,
        SupplierReshipPlaced,
        SupplierReshipFailed,
    ],
)

RULE = "rule:logistics"


@registry.handles(OrderConfirmed)
async def order_confirmed(event: OrderConfirmed, ctx: MessageContext) -> None:
    await OrderCopyRepository(ctx.session).remember(
        {
            "order_id": event.order_id,
            "shop_id": event.shop_id,
            "number": (event.number or None) and event.number[:64],
            "currency": event.currency,
            "total": event.total_price,
            "lines": [
                {
                    "line_id": str(line.line_id),
                    "sku": line.sku,
                    "title": line.title,
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                }
                for line in event.lines
            ],
            "language": event.buyer.language[:10],
            "email_digest": email_digest(event.buyer.email) if event.buyer.email else None,
        }
    )


@registry.handles(OrderRedacted)
async def order_redacted(event: OrderRedacted, ctx: MessageContext) -> None:
    copy = await OrderCopyRepository(ctx.session).get_order(event.order_id)
    if copy is not None:
        copy.redacted_at = event.redacted_at
    repo = CaseRepository(ctx.session)
    for case in await repo.all(repo.select().where(Case.order_id == event.order_id)):
        case.buyer_words = None


async def _opened(
    ctx: MessageContext, order_id: uuid.UUID, kind: CaseType, source: str, actor: str = RULE
) -> None:
    """Open the case once per (order, type, source)."""
    case_id = await open_case(
        ctx.session,
        order_id=order_id,
        type_=kind,
        source_key=source,
        actor=actor,
        cause=ctx.ref,
        now=utcnow(),
    )
    if case_id is not None:
        log.info("case_opened", type=kind.value, case=str(case_id), order=str(order_id))


@registry.handles(SupplierCancellationAnswered)
async def cancellation_answered(event: SupplierCancellationAnswered, ctx: MessageContext) -> None:
    """Too late to stop (shipped): handled as a return on arrival (DOMAIN.md)."""
    for supplier_order_id in event.already_shipped:
        await _opened(
            ctx, event.order_id, CaseType.CANCELLATION_AFTER_HANDOFF,
            f"supplier-order:{supplier_order_id}", "rule:supplier-gateway",
        )  # fmt: skip


@registry.handles(SupplierAddressChangeAnswered)
async def address_change_answered(
    event: SupplierAddressChangeAnswered, ctx: MessageContext
) -> None:
    """Shipped to the old address: intercept if the carrier can, else explain."""
    for supplier_order_id in event.too_late:
        await _opened(
            ctx, event.order_id, CaseType.ADDRESS_CHANGE_AFTER_HANDOFF,
            f"supplier-order:{supplier_order_id}", "rule:supplier-gateway",
        )  # fmt: skip


@registry.handles(ShipmentPresumedLost)
async def presumed_lost(event: ShipmentPresumedLost, ctx: MessageContext) -> None:
    await _opened(ctx, event.order_id, CaseType.LOST, f"parcel:{event.parcel_id}")


@registry.handles(ShipmentStatusChanged)
async def status_changed(event: ShipmentStatusChanged, ctx: MessageContext) -> None:
    if event.status == "returned_to_sender":
        await _opened(ctx, event.order_id, CaseType.RETURNED_TO_SENDER, f"parcel:{event.parcel_id}")
