"""Fixtures for integration and system tests: real PostgreSQL and RabbitMQ.

Registered by the repository's root conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from dropship_common import secretbox
from dropship_common.runtime import ServiceRuntime, ServiceSpec, create_service_app
from dropship_common.settings import Settings
from dropship_testkit.infra import DatabaseFactory, create_vhost, delete_vhost

TEST_SECRET = "test-secret-key-not-for-production-0123456789"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def pytest_configure(config: pytest.Config) -> None:
    """The secrets at rest are encrypted with the test secret (the one the services
    started by :func:`start_service` use), never a key file in the working directory."""
    secretbox.install(secretbox.Keyring.from_secrets(TEST_SECRET))


@pytest.fixture(scope="session")
def service_migrations() -> dict[str, Path]:
    """Each service's name -> its Alembic migrations directory. The test kit knows no
    service (libs import no service): the project's root ``conftest.py`` overrides this
    fixture with the application's list."""
    raise pytest.UsageError("override the service_migrations fixture in conftest.py")


@pytest.fixture(scope="session")
def session_tag() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"dstest_{worker}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
async def databases(
    session_tag: str, service_migrations: dict[str, Path]
) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(session_tag, service_migrations)
    yield factory
    await factory.close()


@pytest.fixture(scope="session")
def amqp_url(session_tag: str) -> Iterator[str]:
    vhost = f"/{session_tag}"
    url = create_vhost(vhost)
    yield url
    delete_vhost(vhost)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def distributed_settings(
    service: str,
    database_url: str,
    bus_url: str,
    *,
    settings_class: type[Settings] = Settings,
    **extra: Any,
) -> Settings:
    """A service's settings for a test (``settings_class``: the service's own class;
    a name that is none of its settings is an error, never silently ignored)."""
    unknown = set(extra) - set(settings_class.model_fields)
    if unknown:
        raise TypeError(f"not settings of {settings_class.__name__}: {sorted(unknown)}")
    values: dict[str, Any] = {
        "mode": "distributed",
        "service": service,
        "database_url": database_url,
        "bus_url": bus_url,
        "exchange": f"test.{uuid.uuid4().hex[:8]}",
        "secret_key": TEST_SECRET,
        "admin_token": ADMIN_TOKEN,
        "retry_delays_ms": [50, 100],
        "outbox_poll_seconds": 0.2,
        "log_json": True,
        # the vendors' fakes listen on loopback; a test of the outbound rules sets ""
        "outbound_allow": "127.0.0.1,localhost",
        **extra,
    }
    return settings_class(**values)


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    @property
    def runtime(self) -> ServiceRuntime:
        rt: ServiceRuntime = self.app.state.runtime
        return rt

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {ADMIN_TOKEN}"}


ServiceStarter = Callable[..., Awaitable[RunningService]]


@pytest.fixture
async def start_service(databases: DatabaseFactory, amqp_url: str) -> AsyncIterator[ServiceStarter]:
    """``await start_service(SPEC, **settings)``: the service in this process, on a fresh
    PostgreSQL database and the session's RabbitMQ vhost, with an httpx client.

    A service started on the ``database_url`` of one started before is a replica of it
    (a restart, a second process): it publishes on the same exchange unless told
    otherwise, so a test's tap sees what either of them sends."""
    managers: list[tuple[LifespanManager, FastAPI]] = []
    clients: list[httpx.AsyncClient] = []
    exchange_of_database: dict[str, str] = {}

    async def start(spec: ServiceSpec, **extra: Any) -> RunningService:
        db_url = extra.pop("database_url", None) or await databases.new(spec.name)
        if db_url in exchange_of_database:
            extra.setdefault("exchange", exchange_of_database[db_url])
        settings = distributed_settings(
            spec.name, db_url, amqp_url, settings_class=spec.settings_class, **extra
        )
        exchange_of_database.setdefault(db_url, settings.exchange)
        app = create_service_app(spec, settings)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        managers.append((manager, app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        )
        clients.append(client)
        if settings.role != "api":  # an API process never connects to the broker
            await app.state.runtime.bus_connected.wait()
        return RunningService(app=app, client=client, settings=settings)

    yield start
    for client in clients:
        await client.aclose()
    for manager, app in reversed(managers):
        try:
            await manager.__aexit__(None, None, None)
        except BaseException:
            await _force_stop(app.state.runtime)
            raise


async def _force_stop(runtime: ServiceRuntime) -> None:
    """A service whose shutdown timed out: say what was still running, then close its
    bus and database anyway, so that its consumer cannot take later tests' messages
    from the queue they share (the test still fails)."""
    pending = [t.get_name() for t in asyncio.all_tasks() if not t.done()]
    print(f"service {runtime.spec.name} did not stop in time; tasks: {pending}", file=sys.stderr)
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(runtime.bus.close(), 10)
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(runtime.db.dispose(), 10)


@pytest.fixture
async def tap_factory(amqp_url: str) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await tap_factory(settings, ["order.#"])``: a consumer on the service's exchange."""
    from dropship_common.messaging.rabbitmq import RabbitMQBus
    from dropship_testkit.tap import EventTap

    taps: list[EventTap] = []

    async def make(settings: Settings, bindings: list[str]) -> EventTap:
        bus = RabbitMQBus(
            settings.bus_url,
            settings.exchange,
            retry_delays_ms=[50],
            delivery_limit=5,
            prefetch=50,
        )
        await bus.connect()
        tap = await EventTap(bus).start(bindings)
        taps.append(tap)
        return tap

    yield make
    for tap in taps:
        bus = cast(RabbitMQBus, tap.bus)
        # each tap's queue comes with a dlq and quorum retry queues: left behind in the
        # session's vhost, hundreds of them slowed the broker until it stalled
        with contextlib.suppress(Exception):
            await bus.delete_topology([tap.queue], exchange=False)
        await bus.close()
