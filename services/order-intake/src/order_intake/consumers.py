"""Messages order-intake consumes."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.supplier_gateway import (
    ShipmentTrackingAssigned,
    SupplierAddressChangeAnswered,
    SupplierCancellationAnswered,
    SupplierOrderOverdue,
    SupplierOrderPlaced,
    SupplierOrderRejected,
)
from dropship_common.messaging.consumer import MessageHandler
from dropship_common.messaging.envelope import Envelope
from dropship_common.runtime import ServiceRuntime
from order_intake.fulfilment.service import record_tracking
from order_intake.orders.service import Cause, OrderOps
from order_intake.orders.supplier_hold import hold_for_rejection


def handlers(runtime: ServiceRuntime) -> Mapping[str, MessageHandler]:
    async def supplier_order_placed(session: AsyncSession, envelope: Envelope) -> None:
        event = SupplierOrderPlaced.model_validate(envelope.payload)
        await OrderOps(session, runtime.outbox).mark_handed_off(
            event.order_id,
            event.placed_at,
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    async def supplier_order_rejected(session: AsyncSession, envelope: Envelope) -> None:
        # sent only when no backup supplier is left: the order waits for a decision
        await hold_for_rejection(
            OrderOps(session, runtime.outbox),
            SupplierOrderRejected.model_validate(envelope.payload),
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    async def tracking_assigned(session: AsyncSession, envelope: Envelope) -> None:
        await record_tracking(
            session,
            runtime.outbox,
            ShipmentTrackingAssigned.model_validate(envelope.payload),
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    async def supplier_order_overdue(session: AsyncSession, envelope: Envelope) -> None:
        event = SupplierOrderOverdue.model_validate(envelope.payload)
        await OrderOps(session, runtime.outbox).note_supplier_event(
            event.order_id,
            "supplier_overdue",
            f"not shipped by {event.ship_by.isoformat()}",
            {
                "supplier_id": str(event.supplier_id),
                "supplier_order_id": str(event.supplier_order_id),
            },
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    async def cancellation_answered(session: AsyncSession, envelope: Envelope) -> None:
        event = SupplierCancellationAnswered.model_validate(envelope.payload)
        await OrderOps(session, runtime.outbox).apply_cancellation_answer(
            event.order_id,
            [str(i) for i in event.cancelled],
            [str(i) for i in event.already_shipped],
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    async def address_answered(session: AsyncSession, envelope: Envelope) -> None:
        event = SupplierAddressChangeAnswered.model_validate(envelope.payload)
        await OrderOps(session, runtime.outbox).apply_address_answer(
            event.order_id,
            event.shipping_address.model_dump(mode="json"),
            [str(i) for i in event.applied],
            [str(i) for i in event.too_late],
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    return {
        ShipmentTrackingAssigned.TYPE: tracking_assigned,
        SupplierAddressChangeAnswered.TYPE: address_answered,
        SupplierCancellationAnswered.TYPE: cancellation_answered,
        SupplierOrderOverdue.TYPE: supplier_order_overdue,
        SupplierOrderPlaced.TYPE: supplier_order_placed,
        SupplierOrderRejected.TYPE: supplier_order_rejected,
    }
