"""Messages order-intake consumes: its handler registry, by contract model."""

from __future__ import annotations

from dropship_common.contracts.aftersales import (
    AftersalesBuyerNotice,
    AftersalesDiscountRequested,
    AftersalesPaymentRequested,
    AftersalesRefundRequested,
)
from dropship_common.contracts.logistics import (
    ShipmentDeliveryWindowExtended,
    ShipmentFollowUp,
    ShipmentPresumedLost,
    ShipmentStalled,
    ShipmentStatusChanged,
)
from dropship_common.contracts.supplier_gateway import (
    ShipmentTrackingAssigned,
    SupplierAddressChangeAnswered,
    SupplierCancellationAnswered,
    SupplierOrderOverdue,
    SupplierOrderPlaced,
    SupplierOrderRejected,
)
from dropship_common.messaging.handlers import Handlers, MessageContext
from order_intake.config import OrderIntakeSettings
from order_intake.credits.service import accept_discount, accept_payment, accept_refund
from order_intake.fulfilment.service import record_tracking
from order_intake.messages.case_notices import queue_case_notice
from order_intake.orders.service import Cause, Orders
from order_intake.orders.supplier_hold import hold_for_rejection
from order_intake.parcel_tracking.service import ParcelUpdates

registry = Handlers("order-intake")


def _cause(ctx: MessageContext) -> Cause:
    return Cause(actor="service:supplier-gateway", ref=ctx.ref)


@registry.handles(AftersalesRefundRequested)
async def refund_requested(event: AftersalesRefundRequested, ctx: MessageContext) -> None:
    """Queued once per case for the credit worker, or refused at once (more than is
    left to refund)."""
    await accept_refund(ctx.session, ctx.outbox, event)


@registry.handles(AftersalesDiscountRequested)
async def discount_requested(event: AftersalesDiscountRequested, ctx: MessageContext) -> None:
    await accept_discount(ctx.session, ctx.outbox, event)


@registry.handles(AftersalesPaymentRequested)
async def payment_requested(event: AftersalesPaymentRequested, ctx: MessageContext) -> None:
    """A payment link for the buyer (a dearer exchange's difference), once per case."""
    await accept_payment(ctx.session, ctx.outbox, event)


@registry.handles(AftersalesBuyerNotice)
async def buyer_notice(event: AftersalesBuyerNotice, ctx: MessageContext) -> None:
    settings = ctx.settings.as_config(OrderIntakeSettings) if ctx.settings else None
    await queue_case_notice(ctx.session, event, settings)


@registry.handles(SupplierOrderPlaced)
async def supplier_order_placed(event: SupplierOrderPlaced, ctx: MessageContext) -> None:
    await Orders.direct(ctx.session, ctx.outbox).supplier.mark_handed_off(
        event.order_id, event.placed_at, _cause(ctx)
    )


@registry.handles(SupplierOrderRejected)
async def supplier_order_rejected(event: SupplierOrderRejected, ctx: MessageContext) -> None:
    # sent only when no backup supplier is left: the order waits for a decision
    await hold_for_rejection(Orders.direct(ctx.session, ctx.outbox).unit, event, _cause(ctx))


@registry.handles(ShipmentTrackingAssigned)
async def tracking_assigned(event: ShipmentTrackingAssigned, ctx: MessageContext) -> None:
    settings = ctx.settings.as_config(OrderIntakeSettings) if ctx.settings else None
    page = settings.tracking_page_base_url if settings else None
    help_base = settings.aftersales_base_url if settings else None
    await record_tracking(ctx.session, ctx.outbox, event, _cause(ctx), page, help_base)


@registry.handles(SupplierOrderOverdue)
async def supplier_order_overdue(event: SupplierOrderOverdue, ctx: MessageContext) -> None:
    await Orders.direct(ctx.session, ctx.outbox).supplier.note_supplier_event(
        event.order_id,
        "supplier_overdue",
        f"not shipped by {event.ship_by.isoformat()}",
        {
            "supplier_id": str(event.supplier_id),
            "supplier_order_id": str(event.supplier_order_id),
        },
        _cause(ctx),
    )


@registry.handles(SupplierCancellationAnswered)
async def cancellation_answered(event: SupplierCancellationAnswered, ctx: MessageContext) -> None:
    await Orders.direct(ctx.session, ctx.outbox).supplier.apply_cancellation_answer(
        event.order_id,
        [str(i) for i in event.cancelled],
        [str(i) for i in event.already_shipped],
        _cause(ctx),
    )


@registry.handles(SupplierAddressChangeAnswered)
async def address_answered(event: SupplierAddressChangeAnswered, ctx: MessageContext) -> None:
    await Orders.direct(ctx.session, ctx.outbox).supplier.apply_address_answer(
        event.order_id,
        event.shipping_address.model_dump(mode="json"),
        [str(i) for i in event.applied],
        [str(i) for i in event.too_late],
        _cause(ctx),
    )


def _updates(ctx: MessageContext) -> ParcelUpdates:
    settings = ctx.settings.as_config(OrderIntakeSettings) if ctx.settings else None
    return ParcelUpdates(ctx.session, ctx.outbox, settings, ctx.ref)


@registry.handles(ShipmentStatusChanged)
async def shipment_status_changed(event: ShipmentStatusChanged, ctx: MessageContext) -> None:
    if not event.return_parcel:  # the buyer's return to the shop: aftersales'
        await _updates(ctx).status_changed(event)


@registry.handles(ShipmentFollowUp)
async def shipment_follow_up(event: ShipmentFollowUp, ctx: MessageContext) -> None:
    if not event.return_parcel:  # the buyer's return to the shop: aftersales'
        await _updates(ctx).follow_up(event)


@registry.handles(ShipmentStalled)
async def shipment_stalled(event: ShipmentStalled, ctx: MessageContext) -> None:
    if not event.return_parcel:  # the buyer's return to the shop: aftersales'
        await _updates(ctx).stalled(event)


@registry.handles(ShipmentDeliveryWindowExtended)
async def shipment_window_extended(
    event: ShipmentDeliveryWindowExtended, ctx: MessageContext
) -> None:
    if not event.return_parcel:
        await _updates(ctx).window_extended(event)


@registry.handles(ShipmentPresumedLost)
async def shipment_presumed_lost(event: ShipmentPresumedLost, ctx: MessageContext) -> None:
    if not event.return_parcel:  # the buyer's return to the shop: aftersales'
        await _updates(ctx).presumed_lost(event)
