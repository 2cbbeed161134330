"""Aftersales service: the app factory.

Cases opened by rules from the other services' events, by agents, by buyers on their
self-service pages (``buyer_page/``, photos in ``evidence/``) and by the storefront;
proposed by the shop's policy (``policies/``), approved, and carried out once through
events to order-intake and supplier-gateway (``cases/resolutions.py``). The messages it
consumes are in ``consumers.py``; the photo sweeper keeps the evidence store to what
cases hold.
"""

from __future__ import annotations

from fastapi import FastAPI

from aftersales import consumers
from aftersales.buyer_page.endpoints import router as buyer_router
from aftersales.cases.actions import router as case_actions_router
from aftersales.cases.endpoints import router as cases_router
from aftersales.config import AftersalesSettings, larger_bodies
from aftersales.evidence.endpoints import router as evidence_router
from aftersales.evidence.ledger import photo_sweeper
from aftersales.models import common, parked_events
from aftersales.policies.endpoints import router as policies_router
from dropship_common.messaging.bus import Bus
from dropship_common.messaging.parked_replay import replay_parked
from dropship_common.runtime import ServiceRuntime, ServiceSpec, create_service_app
from dropship_common.settings import Settings


async def _replay_parked(runtime: ServiceRuntime) -> None:
    """Events parked before their handlers existed: processed now."""
    await replay_parked(runtime, parked_events)


SPEC = ServiceSpec(
    name="aftersales",
    title="Aftersales",
    tables=common,
    routers=(cases_router, case_actions_router, evidence_router, policies_router, buyer_router),
    handlers=consumers.registry,
    workers=(photo_sweeper,),
    on_start=_replay_parked,
    settings_class=AftersalesSettings,
    larger_bodies=larger_bodies,
)


def create_app(settings: Settings | None = None, *, bus: Bus | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings(service=SPEC.name), bus=bus)
