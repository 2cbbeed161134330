"""Supplier gateway service: the app factory.

Suppliers and the mappings of the shops' SKUs to their products; supplier orders from
``order.confirmed``, placed through each supplier's adapter (CJdropshipping, our http
protocol, the portal); supplier callbacks (CJ's webhook messages stored, then applied by
a worker); deadlines. The messages it consumes are in ``consumers.py``.
"""

from __future__ import annotations

from fastapi import FastAPI

from dropship_common.messaging.bus import Bus
from dropship_common.messaging.parked_replay import replay_parked
from dropship_common.runtime import ServiceRuntime, ServiceSpec, create_service_app
from dropship_common.settings import Settings
from supplier_gateway import consumers
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
from supplier_gateway.supplier_notices.worker import supplier_notice_worker
from supplier_gateway.supplier_orders.deadlines import deadline_worker
from supplier_gateway.supplier_orders.endpoints import router as supplier_orders_router
from supplier_gateway.suppliers.endpoints import router as suppliers_router


async def _replay_parked(runtime: ServiceRuntime) -> None:
    """aftersales' reships and notices parked by the release before: carried out now."""
    await replay_parked(runtime, parked_events)


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
    handlers=consumers.registry,
    workers=(
        deadline_worker,
        placement_worker,
        supplier_mail_worker,
        supplier_notice_worker,
        cj_message_worker,
        cj_message_purge_worker,
    ),
    on_start=_replay_parked,
    settings_class=SupplierGatewaySettings,
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
