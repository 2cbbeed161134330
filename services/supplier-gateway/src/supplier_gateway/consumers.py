"""Messages supplier-gateway consumes: its handler registry, by contract model.

``order.confirmed`` opens supplier orders; a cancellation (before or after hand-off)
stops what has not shipped; a new address goes to the suppliers; a redaction removes the
buyer's data from what it copied. Aftersales' reships become new supplier orders, and
its notices reach the suppliers.
"""

from __future__ import annotations

from dropship_common.contracts.aftersales import (
    AftersalesReshipRequested,
    AftersalesSupplierNotice,
)
from dropship_common.contracts.order_intake import (
    OrderAddressChanged,
    OrderAddressChangeRequested,
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderRedacted,
)
from dropship_common.messaging.handlers import Handlers, MessageContext
from supplier_gateway.reships.service import request_reship
from supplier_gateway.supplier_notices.service import record_notice
from supplier_gateway.supplier_orders.cancellation import cancel_for_order, readdress_for_order
from supplier_gateway.supplier_orders.redaction import redact_for_order
from supplier_gateway.supplier_orders.service import open_supplier_orders

registry = Handlers("supplier-gateway")


@registry.handles(AftersalesReshipRequested)
async def reship_requested(event: AftersalesReshipRequested, ctx: MessageContext) -> None:
    await request_reship(ctx.session, ctx.outbox, event, ctx.ref)


@registry.handles(AftersalesSupplierNotice)
async def supplier_notice(event: AftersalesSupplierNotice, ctx: MessageContext) -> None:
    await record_notice(ctx.session, event, ctx.ref)


@registry.handles(OrderConfirmed)
async def order_confirmed(event: OrderConfirmed, ctx: MessageContext) -> None:
    await open_supplier_orders(ctx.session, ctx.outbox, event, ctx.ref)


@registry.handles(OrderCancelled)
async def order_cancelled(event: OrderCancelled, ctx: MessageContext) -> None:
    await cancel_for_order(
        ctx.session, ctx.outbox, event.order_id, event.reason or "cancelled", ctx.ref
    )


@registry.handles(OrderCancellationRequested)
async def cancellation_requested(event: OrderCancellationRequested, ctx: MessageContext) -> None:
    await cancel_for_order(
        ctx.session, ctx.outbox, event.order_id, event.reason or "cancelled", ctx.ref
    )


@registry.handles(OrderAddressChanged)
async def address_changed(event: OrderAddressChanged, ctx: MessageContext) -> None:
    await readdress_for_order(
        ctx.session, ctx.outbox, event.order_id, event.shipping_address, ctx.ref
    )


@registry.handles(OrderAddressChangeRequested)
async def address_change_requested(event: OrderAddressChangeRequested, ctx: MessageContext) -> None:
    await readdress_for_order(
        ctx.session, ctx.outbox, event.order_id, event.shipping_address, ctx.ref
    )


@registry.handles(OrderRedacted)
async def order_redacted(event: OrderRedacted, ctx: MessageContext) -> None:
    await redact_for_order(ctx.session, event.order_id, ctx.ref)
