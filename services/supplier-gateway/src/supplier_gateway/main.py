"""Supplier gateway service: the app factory.

Suppliers and the mappings of the shops' SKUs to their products; supplier orders from
``order.confirmed``, placed through each supplier's adapter (CJdropshipping, our http
protocol, the portal); supplier callbacks (CJ's webhook messages stored, then applied by
a worker); deadlines. Events it does not handle yet are
kept in ``parked_events``.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.contracts.order_intake import (
    AddressV1,
    OrderAddressChanged,
    OrderAddressChangeRequested,
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderRedacted,
)
from dropship_common.messaging.bus import Bus
from dropship_common.messaging.consumer import MessageHandler
from dropship_common.messaging.envelope import Envelope
from dropship_common.parked import park_handlers
from dropship_common.runtime import ServiceRuntime, ServiceSpec, create_service_app
from dropship_common.settings import Settings
from supplier_gateway.callbacks.cj import router as cj_callbacks_router
from supplier_gateway.callbacks.supplier_api import router as supplier_api_router
from supplier_gateway.cj_messages.endpoints import router as cj_messages_router
from supplier_gateway.cj_messages.worker import cj_message_purge_worker, cj_message_worker
from supplier_gateway.config import SupplierGatewaySettings
from supplier_gateway.mappings.endpoints import router as mappings_router
from supplier_gateway.models import common, parked_events
from supplier_gateway.placement.worker import placement_worker
from supplier_gateway.portal.endpoints import router as portal_router
from supplier_gateway.supplier_emails.worker import supplier_mail_worker
from supplier_gateway.supplier_orders.cancellation import cancel_for_order, readdress_for_order
from supplier_gateway.supplier_orders.deadlines import deadline_worker
from supplier_gateway.supplier_orders.endpoints import router as supplier_orders_router
from supplier_gateway.supplier_orders.redaction import redact_for_order
from supplier_gateway.supplier_orders.service import open_supplier_orders
from supplier_gateway.suppliers.endpoints import router as suppliers_router

BINDINGS = (
    "order.confirmed",
    "order.cancelled",
    "order.cancellation_requested",
    "order.address_changed",
    "order.address_change_requested",
    "order.redacted",
)


def handlers(_rt: ServiceRuntime) -> dict[str, MessageHandler]:
    """``order.confirmed`` opens supplier orders; the rest is kept for later releases."""

    async def order_confirmed(session: AsyncSession, envelope: Envelope) -> None:
        await open_supplier_orders(
            session,
            _rt.outbox,
            OrderConfirmed.model_validate(envelope.payload),
            f"message:{envelope.id}",
        )

    async def order_cancelled(session: AsyncSession, envelope: Envelope) -> None:
        await cancel_for_order(
            session,
            _rt.outbox,
            uuid.UUID(envelope.payload["order_id"]),
            envelope.payload.get("reason") or "cancelled",
            f"message:{envelope.id}",
        )

    async def address_changed(session: AsyncSession, envelope: Envelope) -> None:
        await readdress_for_order(
            session,
            _rt.outbox,
            uuid.UUID(envelope.payload["order_id"]),
            AddressV1.model_validate(envelope.payload["shipping_address"]),
            f"message:{envelope.id}",
        )

    async def order_redacted(session: AsyncSession, envelope: Envelope) -> None:
        await redact_for_order(
            session, uuid.UUID(envelope.payload["order_id"]), f"message:{envelope.id}"
        )

    own = {
        OrderRedacted.TYPE: order_redacted,
        OrderAddressChanged.TYPE: address_changed,
        OrderAddressChangeRequested.TYPE: address_changed,
        OrderConfirmed.TYPE: order_confirmed,
        OrderCancelled.TYPE: order_cancelled,
        OrderCancellationRequested.TYPE: order_cancelled,
    }
    return {**park_handlers(parked_events, [b for b in BINDINGS if b not in own]), **own}


SPEC = ServiceSpec(
    name="supplier-gateway",
    title="Supplier gateway",
    tables=common,
    routers=(
        suppliers_router,
        mappings_router,
        supplier_orders_router,
        portal_router,
        cj_messages_router,
        cj_callbacks_router,
        supplier_api_router,
    ),
    handlers=handlers,
    workers=(
        deadline_worker,
        placement_worker,
        supplier_mail_worker,
        cj_message_worker,
        cj_message_purge_worker,
    ),
    settings_class=SupplierGatewaySettings,
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
