"""Messages order-intake consumes."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.supplier_gateway import SupplierOrderPlaced
from dropship_common.messaging.consumer import MessageHandler
from dropship_common.messaging.envelope import Envelope
from dropship_common.runtime import ServiceRuntime
from order_intake.orders.service import Cause, OrderOps


def handlers(runtime: ServiceRuntime) -> Mapping[str, MessageHandler]:
    async def supplier_order_placed(session: AsyncSession, envelope: Envelope) -> None:
        event = SupplierOrderPlaced.model_validate(envelope.payload)
        await OrderOps(session, runtime.outbox).mark_handed_off(
            event.order_id,
            event.placed_at,
            Cause(actor="service:supplier-gateway", ref=f"message:{envelope.id}"),
        )

    return {SupplierOrderPlaced.TYPE: supplier_order_placed}
