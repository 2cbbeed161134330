"""Logistics service: the app factory.

Bare for now: it migrates, reports healthy and binds its queue so that no event meant
for it is lost before its features land; the events it binds are parked (``consumers.py``).
"""

from __future__ import annotations

from fastapi import FastAPI

from dropship_common.messaging.bus import Bus
from dropship_common.runtime import ServiceSpec, create_service_app
from dropship_common.settings import Settings
from logistics import consumers
from logistics.models import common

SPEC = ServiceSpec(
    name="logistics",
    title="Logistics",
    tables=common,
    handlers=consumers.registry,
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
