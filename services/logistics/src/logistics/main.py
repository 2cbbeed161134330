"""Logistics service: the app factory.

Parcels from ``shipment.tracking_assigned``, followed at tracking providers (17TRACK,
AfterShip: pushes and polls), one status taxonomy, DOMAIN.md's follow-up and delivery
window rules, ``shipment.*`` events, the operators' API and the buyer's tracking page.
The messages it consumes are in ``consumers.py``.
"""

from __future__ import annotations

from fastapi import FastAPI

from dropship_common.messaging.bus import Bus
from dropship_common.messaging.parked_replay import replay_parked
from dropship_common.runtime import ServiceRuntime, ServiceSpec, create_service_app
from dropship_common.settings import Settings
from logistics import consumers
from logistics.accounts.endpoints import router as accounts_router
from logistics.config import LogisticsSettings
from logistics.models import common, parked_events
from logistics.parcels.endpoints import router as parcels_router
from logistics.parcels.rules_worker import rules_worker
from logistics.providers.registry import clients_of
from logistics.routing.endpoints import router as routing_router
from logistics.tracking.pushes import intake_of, push_worker
from logistics.tracking.pushes import router as pushes_router
from logistics.tracking.worker import tracking_worker
from logistics.tracking_page.endpoints import router as tracking_page_router


async def _close_clients(runtime: ServiceRuntime) -> None:
    await clients_of(runtime).close()
    if "push_intake" in runtime.state:
        await intake_of(runtime).writer.close()


async def _replay_parked(runtime: ServiceRuntime) -> None:
    """``shipment.tracking_assigned`` parked by the bare release: processed now."""
    await replay_parked(runtime, parked_events)


SPEC = ServiceSpec(
    name="logistics",
    title="Logistics",
    tables=common,
    routers=(
        parcels_router,
        accounts_router,
        routing_router,
        pushes_router,
        tracking_page_router,
    ),
    handlers=consumers.registry,
    workers=(tracking_worker, push_worker, rules_worker),
    on_start=_replay_parked,
    on_stop=_close_clients,
    settings_class=LogisticsSettings,
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
