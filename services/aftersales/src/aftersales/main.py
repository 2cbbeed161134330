"""Aftersales service: the app factory.

Bare for now: it migrates, reports healthy and binds its queue so that no event meant
for it is lost before its features land; events are kept in ``parked_events``.
"""

from __future__ import annotations

from fastapi import FastAPI

from aftersales.models import common, parked_events
from dropship_common.messaging.bus import Bus
from dropship_common.parked import park_handlers
from dropship_common.runtime import ServiceSpec, create_service_app
from dropship_common.settings import Settings

BINDINGS = (
    "order.cancellation_requested",
    "order.address_change_requested",
)

SPEC = ServiceSpec(
    name="aftersales",
    title="Aftersales",
    tables=common,
    handlers=lambda _rt: park_handlers(parked_events, BINDINGS),
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
