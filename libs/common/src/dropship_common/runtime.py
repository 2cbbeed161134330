"""What every service process runs: database, bus, outbox relay, consumers, workers,
and the FastAPI app around them (health, metrics, errors, logs). Everything is made
in the app's lifespan, never at import."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI

from dropship_common import secretbox
from dropship_common.admin import router as dead_letters_router
from dropship_common.api_keys import router as api_keys_router
from dropship_common.backoff import backoff_delay
from dropship_common.db import Database
from dropship_common.errors import declare_common_errors, install_error_handlers
from dropship_common.health import health_router
from dropship_common.hot_routes import HotEndpoint, HotRoutes
from dropship_common.messaging.bus import Bus
from dropship_common.messaging.consumer import MessageConsumer
from dropship_common.messaging.factory import make_bus
from dropship_common.messaging.handlers import Handlers
from dropship_common.messaging.inbox import Inbox
from dropship_common.messaging.outbox import Outbox, OutboxRelay
from dropship_common.observability import (
    CorrelationIdMiddleware,
    MetricsMiddleware,
    configure_logging,
)
from dropship_common.security import BodySizeLimitMiddleware
from dropship_common.settings import Settings
from dropship_common.tables import CommonTables

log = structlog.get_logger(__name__)

Worker = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceSpec:
    """What makes one service: its tables, routes, message handlers and workers."""

    name: str
    title: str
    tables: CommonTables
    routers: Sequence[APIRouter] = ()
    # its message handlers by contract model (the registry in its consumers.py)
    handlers: Handlers | None = None
    workers: Sequence[Worker] = ()
    on_start: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    # runs after the workers stopped, before the bus and the database close (clients)
    on_stop: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    description: str = ""
    # exact POST paths of the routers' busiest endpoints, served by :class:`HotRoutes`
    hot_routes: Mapping[str, HotEndpoint] = field(default_factory=dict)
    # the service's own settings class (its config.py), on the shared base
    settings_class: type[Settings] = Settings
    # path prefixes whose bodies may be larger than ``max_body_bytes`` (uploads), by the
    # service's settings
    larger_bodies: Callable[[Settings], Mapping[str, int]] | None = None


# how long each step of a service's shutdown may take (four steps: within the 30 s a
# container orchestrator or the tests' lifespan manager allow)
STOP_STEP_SECONDS = 6.0


@dataclass
class ServiceRuntime:
    spec: ServiceSpec
    settings: Settings
    db: Database
    bus: Bus
    owns_bus: bool = True
    state: dict[str, Any] = field(default_factory=dict)
    bus_connected: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.tables.outbox)
        self.inbox = Inbox(self.tables.inbox, self.spec.name)
        self.relay = OutboxRelay(
            self.spec.name,
            self.db,
            self.tables.outbox,
            self.bus,
            poll_seconds=self.settings.outbox_poll_seconds,
        )
        self.consumer = MessageConsumer(
            self.spec.name,
            self.db,
            self.inbox,
            self.outbox,
            self.spec.handlers or Handlers(self.spec.name),
            self.settings,
        )

    @property
    def tables(self) -> CommonTables:
        return self.spec.tables

    @property
    def queue(self) -> str:
        return self.spec.name

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background_task_crashed", task=name, service=self.spec.name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def _connect_bus(self) -> None:
        """Connect and bind the queue; while the broker is away keep trying (the
        outbox keeps every event meanwhile)."""
        failures = 0
        while True:
            try:
                await self.bus.connect()
                await self.bus.subscribe(self.queue, self.consumer.bindings, self.consumer)
                self.bus_connected.set()
                self.relay.wake()
                log.info("bus_connected", service=self.spec.name)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("bus_connect_failed", service=self.spec.name, error=str(exc))
                failures += 1
                await asyncio.sleep(backoff_delay(failures, base=0.5, cap=10.0))

    async def _housekeeping(self) -> None:
        """Every 15 s the ``outbox_pending`` gauge (events not yet on the broker: the
        number to alert on); hourly, sent events older than a week leave the outbox
        (they hold personal data and the table would only grow)."""
        ticks = 0
        while True:
            try:
                await self.relay.pending_count()
                if ticks % 240 == 0:
                    await self.relay.purge_published(dt.timedelta(days=7))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("housekeeping_failed", service=self.spec.name, error=str(exc))
            ticks += 1
            await asyncio.sleep(15)

    async def start(self) -> None:
        if self.spec.on_start is not None:
            await self.spec.on_start(self)
        if self.settings.role == "api":
            return  # a worker process publishes, consumes and processes
        self.spawn(self._connect_bus(), f"{self.spec.name}-bus")
        self.spawn(self._housekeeping(), f"{self.spec.name}-housekeeping")
        self.relay.start()
        for worker in self.spec.workers:
            self.spawn(worker(self), f"{self.spec.name}-{worker.__name__}")

    async def stop(self) -> None:
        """Each step bounded (a container is killed after its grace period): a step that
        does not end in time is logged by name, left behind, and the next one runs."""
        await self._bounded("outbox relay", self.relay.stop())
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_STEP_SECONDS)
            if stuck:
                names = sorted(t.get_name() for t in stuck)
                log.error("shutdown_step_timed_out", service=self.spec.name, step=names)
        self._tasks.clear()
        if self.spec.on_stop is not None:
            await self._bounded("on_stop", self.spec.on_stop(self))
        if self.owns_bus:
            await self._bounded("bus", self.bus.close())
        await self._bounded("database", self.db.dispose())

    async def _bounded(self, step: str, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        _, stuck = await asyncio.wait({task}, timeout=STOP_STEP_SECONDS)
        if stuck:
            task.cancel()  # not waited for: it may not end
            log.error("shutdown_step_timed_out", service=self.spec.name, step=step)

    async def check_bus(self) -> None:
        if not self.bus_connected.is_set() or not await self.bus.is_ready():
            raise RuntimeError("message bus not connected")


def create_service_app(spec: ServiceSpec, settings: Settings, *, bus: Bus | None = None) -> FastAPI:
    """The FastAPI app of one service. ``bus``: share one embedded bus between the
    services of one process (then the caller closes it)."""
    settings = settings.for_service(spec.name) if settings.service != spec.name else settings
    settings = settings.as_config(spec.settings_class)
    configure_logging(settings.log_level, settings.log_json)
    # the key of the secrets at rest; refuses to start without one in distributed mode
    secretbox.install(secretbox.keyring_for(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(
            spec=spec,
            settings=settings,
            db=Database(settings.db_url),
            bus=bus or make_bus(settings),
            owns_bus=bus is None,
        )
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=spec.title, description=spec.description, lifespan=lifespan)
    install_error_handlers(app)

    async def check_db() -> None:
        await app.state.runtime.db.ping()

    async def check_bus() -> None:
        await app.state.runtime.check_bus()

    checks = {"database": check_db}
    if settings.role != "api":
        checks["bus"] = check_bus
    # the service's own routes first: each request is matched against the routes in
    # order, and its webhooks are the busiest
    for router in spec.routers:
        app.include_router(router)
    app.include_router(health_router(spec.name, checks))
    app.include_router(dead_letters_router)
    app.include_router(api_keys_router)
    declare_common_errors(app)
    if spec.hot_routes:  # innermost of our middleware: added first
        app.add_middleware(HotRoutes, routers=spec.routers, routes=spec.hot_routes)
    app.add_middleware(MetricsMiddleware, service=spec.name)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger=spec.larger_bodies(settings) if spec.larger_bodies else None,
    )
    app.add_middleware(CorrelationIdMiddleware)
    return app


def tune_gc() -> None:
    """For a long-running service, once its code is imported: the objects that live as
    long as the process (modules, models, routes) go to the permanent generation so the
    collector stops scanning them, and the youngest generation is collected after
    50,000 allocations instead of 700. A webhook batch allocates tens of thousands of
    short-lived objects; with the defaults the collector took a fifth of the worker's
    CPU. Reference counting still frees almost everything at once; only cycles wait."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
