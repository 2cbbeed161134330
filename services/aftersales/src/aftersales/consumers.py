"""Messages aftersales consumes: its handler registry, by contract model.

``order.confirmed`` gives the copy a case is valued from (currency, lines, prices; no
name, no address); ``order.redacted`` removes the buyer's words and photos from its cases;
logistics' ``shipment.presumed_lost`` opens a ``lost`` case and a ``returned_to_sender``
status a ``returned_to_sender`` case, once per parcel (the events do not say which
lines a parcel holds: the case covers the order's lines). Cancellation and address
requests after hand-off are still parked (``parked_events``): supplier-gateway's
answers open the cases instead (a cancellation too late to stop is a return on
arrival, an address change too late is intercepted or explained), once per supplier
order. A parcel stalled at customs opens a ``held_by_customs`` case; a return the
buyer asked for at the storefront (``order.return_requested``) a case of its reason.

The outcomes of what aftersales asked for come back here: refunds, discount codes and
reships recorded in the ledger (a refund made in the storefront's admin too, so it is
never paid twice), the case resolved or sent back to an agent; a reship's tracking
tells the buyer a replacement is on its way.
"""

from __future__ import annotations

import uuid

import structlog

from aftersales.cases import resolutions
from aftersales.cases.notices import buyer_notice
from aftersales.cases.repository import CaseRepository, OrderCopyRepository
from aftersales.cases.resolutions import (
    outcome_done,
    outcome_failed,
    return_received,
    send_missing,
    waits_for_next_order,
)
from aftersales.cases.service import open_case
from aftersales.domain.cases import CaseType
from aftersales.evidence.ledger import forget_photos
from aftersales.models import Case, CaseEvent, parked_events
from dropship_common.contracts.logistics import (
    ShipmentPresumedLost,
    ShipmentStalled,
    ShipmentStatusChanged,
)
from dropship_common.contracts.order_intake import (
    OrderAddressChangeRequested,
    OrderCancellationRequested,
    OrderConfirmed,
    OrderDiscountCreated,
    OrderPaymentFailed,
    OrderPaymentLinkSent,
    OrderPaymentReceived,
    OrderRedacted,
    OrderRefundFailed,
    OrderRefundRecorded,
    OrderReturnRequested,
)
from dropship_common.contracts.supplier_gateway import (
    ShipmentTrackingAssigned,
    SupplierAddressChangeAnswered,
    SupplierCancellationAnswered,
    SupplierOrderPlaced,
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
    if event.buyer.email:  # missing units that waited for this buyer's next order
        await _send_with(ctx, event)


async def _send_with(ctx: MessageContext, event: OrderConfirmed) -> None:
    copy = await OrderCopyRepository(ctx.session).get_order(event.order_id)
    waiting = await CaseRepository(ctx.session).waiting_for_next_order(
        event.shop_id, email_digest(event.buyer.email or ""), event.order_id
    )
    for case in waiting:
        if waits_for_next_order(case):
            await send_missing(ctx.session, ctx.outbox, case, actor="rule:next-order",
                               now=utcnow(), with_order=copy)  # fmt: skip


@registry.handles(OrderRedacted)
async def order_redacted(event: OrderRedacted, ctx: MessageContext) -> None:
    copy = await OrderCopyRepository(ctx.session).get_order(event.order_id)
    if copy is not None:
        copy.redacted_at = event.redacted_at
    repo = CaseRepository(ctx.session)
    for case in await repo.all(repo.select().where(Case.order_id == event.order_id)):
        case.buyer_words = None
        await forget_photos(ctx.session, case, utcnow())  # deleted by the next sweep


async def _opened(
    ctx: MessageContext,
    order_id: uuid.UUID,
    kind: CaseType,
    source: str,
    actor: str = RULE,
    *,
    supplier_order_id: uuid.UUID | None = None,
    line_ids: list[str] | None = None,
    buyer_words: str | None = None,
) -> None:
    """Open the case once per (order, type, source)."""
    case_id = await open_case(
        ctx.session,
        ctx.outbox,
        order_id=order_id,
        type_=kind,
        source_key=source,
        actor=actor,
        cause=ctx.ref,
        now=utcnow(),
        line_ids=line_ids,
        buyer_words=buyer_words,
        supplier_order_id=supplier_order_id,
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
            supplier_order_id=supplier_order_id,
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
            supplier_order_id=supplier_order_id,
        )  # fmt: skip


async def _parcel_seen(ctx: MessageContext, event: ShipmentStatusChanged | ShipmentPresumedLost
                       | ShipmentStalled) -> None:  # fmt: skip
    """What the order copy keeps of a parcel: its status, window and delivery."""
    copy = await OrderCopyRepository(ctx.session).get_order(event.order_id, for_update=True)
    if copy is None:
        return
    parcels = [p for p in copy.parcels if p.get("parcel_id") != str(event.parcel_id)]
    parcels.append(
        {
            "parcel_id": str(event.parcel_id),
            "supplier_order_id": str(event.supplier_order_id),
            "tracking_number": event.tracking_number,
            "status": event.status,
            "window_to": event.window_to.isoformat(),
        }
    )
    copy.parcels = parcels
    delivered = all(p["status"] == "delivered" for p in parcels)
    if isinstance(event, ShipmentStatusChanged) and event.status == "delivered" and delivered:
        copy.delivered_at = event.occurred_at


@registry.handles(ShipmentPresumedLost)
async def presumed_lost(event: ShipmentPresumedLost, ctx: MessageContext) -> None:
    if event.return_parcel:  # a return lost on its way back: the agent's (on the case)
        return
    await _parcel_seen(ctx, event)
    await _opened(ctx, event.order_id, CaseType.LOST, f"parcel:{event.parcel_id}",
                  supplier_order_id=event.supplier_order_id)  # fmt: skip


# a parcel's status that is a problem of its own: the case it opens
PROBLEM_STATUSES: dict[str, CaseType] = {
    "returned_to_sender": CaseType.RETURNED_TO_SENDER,
    "lost": CaseType.LOST,  # declared by the carrier, or marked by an operator
}


@registry.handles(ShipmentStatusChanged)
async def status_changed(event: ShipmentStatusChanged, ctx: MessageContext) -> None:
    if event.return_parcel:  # the buyer's return to the shop
        if event.status == "delivered" and event.case_id is not None:
            await _return_arrived(ctx, event.case_id)
        return
    await _parcel_seen(ctx, event)
    kind = PROBLEM_STATUSES.get(event.status)
    if kind is not None:  # one case per parcel, whichever event reports it first
        await _opened(ctx, event.order_id, kind, f"parcel:{event.parcel_id}",
                      supplier_order_id=event.supplier_order_id)  # fmt: skip


async def _return_arrived(ctx: MessageContext, case_id: uuid.UUID) -> None:
    """The return parcel was delivered to the shop: the refund or exchange goes ahead,
    once (an agent may have recorded it by hand already)."""
    case = await CaseRepository(ctx.session).get(case_id, for_update=True)
    info = (case.return_info or {}) if case is not None else {}
    if case is None or not info or info.get("received_at"):
        return
    ctx.session.add(CaseEvent(case_id=case.id, at=utcnow(), kind="return_received",
                              reason="the return parcel was delivered", actor="logistics",
                              cause=ctx.ref))  # fmt: skip
    await return_received(ctx.session, ctx.outbox, case, actor="logistics", now=utcnow())


@registry.handles(ShipmentStalled)
async def stalled(event: ShipmentStalled, ctx: MessageContext) -> None:
    """A parcel with no scan for the follow-up period while at customs: held there."""
    if event.return_parcel:
        return
    await _parcel_seen(ctx, event)
    if event.status == "in_customs":
        await _opened(ctx, event.order_id, CaseType.HELD_BY_CUSTOMS,
                      f"parcel:{event.parcel_id}",
                      supplier_order_id=event.supplier_order_id)  # fmt: skip


@registry.handles(SupplierOrderPlaced)
async def supplier_order_placed(event: SupplierOrderPlaced, ctx: MessageContext) -> None:
    """The supplier's price of the goods, for a reship's estimate."""
    copy = await OrderCopyRepository(ctx.session).get_order(event.order_id, for_update=True)
    if copy is None:
        return
    placed = [s for s in copy.supplier_orders
              if s.get("supplier_order_id") != str(event.supplier_order_id)]  # fmt: skip
    placed.append(
        {
            "supplier_order_id": str(event.supplier_order_id),
            "supplier_id": str(event.supplier_id),
            "goods_cost": None if event.goods_cost is None else str(event.goods_cost),
            "currency": event.currency,
        }
    )
    copy.supplier_orders = placed


# Shopify's ReturnReason → the case's type
RETURN_REASONS: dict[str, CaseType] = {
    "SIZE_TOO_SMALL": CaseType.WRONG_SIZE,
    "SIZE_TOO_LARGE": CaseType.WRONG_SIZE,
    "WRONG_ITEM": CaseType.WRONG_ITEM,
    "DEFECTIVE": CaseType.DAMAGED,
    "NOT_AS_DESCRIBED": CaseType.NOT_AS_DESCRIBED,
}


@registry.handles(OrderReturnRequested)
async def return_requested(event: OrderReturnRequested, ctx: MessageContext) -> None:
    """A return the buyer asked for at the storefront: a case of its reason, once."""
    lines = [str(line.line_id) for line in event.lines if line.line_id is not None]
    await _opened(
        ctx, event.order_id, RETURN_REASONS.get(event.reason.upper(), CaseType.UNWANTED),
        f"storefront-return:{event.storefront_return_id}", "storefront",
        line_ids=lines or None, buyer_words=event.buyer_note,
    )  # fmt: skip


@registry.handles(OrderRefundRecorded)
async def refund_recorded(event: OrderRefundRecorded, ctx: MessageContext) -> None:
    """A refund made (ours or the admin's): in the ledger once, whoever reports it."""
    case = await outcome_done(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        kind="refund", reference=f"storefront:{event.storefront_refund_id}",
        amount=event.amount, currency=event.currency, source=event.source, cause=ctx.ref,
        now=utcnow(),
    )  # fmt: skip
    if case is not None:
        await ctx.outbox.add(
            ctx.session,
            [buyer_notice(case, "refund_sent", amount=event.amount, currency=event.currency)],
        )


@registry.handles(OrderRefundFailed)
async def refund_failed(event: OrderRefundFailed, ctx: MessageContext) -> None:
    await outcome_failed(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        kind="refund", reason=f"{event.code}: {event.message}", cause=ctx.ref, now=utcnow(),
    )  # fmt: skip


@registry.handles(OrderDiscountCreated)
async def discount_created(event: OrderDiscountCreated, ctx: MessageContext) -> None:
    case = await outcome_done(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        kind="discount", reference=f"storefront:{event.storefront_discount_id}",
        amount=event.amount, currency=event.currency, source="aftersales", cause=ctx.ref,
        now=utcnow(),
    )  # fmt: skip
    if case is not None:
        await ctx.outbox.add(
            ctx.session,
            [
                buyer_notice(
                    case,
                    "discount_code",
                    code=event.code,
                    amount=event.amount,
                    currency=event.currency,
                )
            ],
        )


@registry.handles(OrderPaymentLinkSent)
async def payment_link_sent(event: OrderPaymentLinkSent, ctx: MessageContext) -> None:
    await resolutions.payment_link_sent(
        ctx.session, event.case_id, event.storefront_ref, cause=ctx.ref, now=utcnow()
    )


@registry.handles(OrderPaymentReceived)
async def payment_received(event: OrderPaymentReceived, ctx: MessageContext) -> None:
    await resolutions.payment_received(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        storefront_ref=event.storefront_ref, amount=event.amount, cause=ctx.ref, now=utcnow(),
    )  # fmt: skip


@registry.handles(OrderPaymentFailed)
async def payment_failed(event: OrderPaymentFailed, ctx: MessageContext) -> None:
    await outcome_failed(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        kind="payment", reason=f"{event.code}: {event.message}", cause=ctx.ref, now=utcnow(),
    )  # fmt: skip


@registry.handles(SupplierReshipPlaced)
async def reship_placed(event: SupplierReshipPlaced, ctx: MessageContext) -> None:
    await outcome_done(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        kind="reship", reference=f"supplier-order:{event.supplier_order_id}", amount=None,
        currency=None, source="aftersales", cause=ctx.ref, now=utcnow(),
    )  # fmt: skip


@registry.handles(SupplierReshipFailed)
async def reship_failed(event: SupplierReshipFailed, ctx: MessageContext) -> None:
    await outcome_failed(
        ctx.session, ctx.outbox, order_id=event.order_id, case_id=event.case_id,
        kind="reship", reason=f"{event.code}: {event.message}", cause=ctx.ref, now=utcnow(),
    )  # fmt: skip


@registry.handles(ShipmentTrackingAssigned)
async def tracking_assigned(event: ShipmentTrackingAssigned, ctx: MessageContext) -> None:
    """A reship's tracking: the buyer hears the replacement is on its way (once)."""
    if event.case_id is None:
        return
    case = await CaseRepository(ctx.session).get(event.case_id)
    if case is not None:
        await ctx.outbox.add(
            ctx.session,
            [
                buyer_notice(
                    case, "replacement_shipped", tracking_number=", ".join(event.tracking_numbers)
                )
            ],
        )
