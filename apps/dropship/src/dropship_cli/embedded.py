"""Embedded mode: the four services in one process, each on its own port, on SQLite
files and the embedded bus under ``DROPSHIP_DATA_DIR``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Generator

import uvicorn

from dropship_cli.services import APP_FACTORIES, migrations_dir
from dropship_common import secretbox
from dropship_common.messaging.factory import make_bus
from dropship_common.migrate import upgrade
from dropship_common.runtime import tune_gc
from dropship_common.settings import SERVICE_NAMES, Settings, env_name


class _Server(uvicorn.Server):
    """Signals are handled once for all servers of the process (below)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def migrate_all(settings: Settings, services: tuple[str, ...] = SERVICE_NAMES) -> None:
    secretbox.install(secretbox.keyring_for(settings))  # migrations encrypt stored secrets
    for name in services:
        await upgrade(migrations_dir(name), settings.for_service(name).db_url)


class PortBusy(RuntimeError):
    pass


def check_ports(settings: Settings) -> None:
    """Fail before starting anything, with the service and port named."""
    for name in SERVICE_NAMES:
        svc = settings.for_service(name)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((svc.host, svc.port or 0))
            except OSError as exc:
                raise PortBusy(
                    f"{name} cannot listen on {svc.host}:{svc.port} ({exc.strerror}); "
                    f"stop what uses it or set DROPSHIP_{env_name(name)}_PORT"
                ) from exc


async def run_embedded(settings: Settings) -> None:
    check_ports(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate_all(settings)
    bus = make_bus(settings)
    await bus.connect()
    servers = []
    for name in SERVICE_NAMES:
        svc = settings.for_service(name)
        app = APP_FACTORIES[name](svc, bus=bus)
        config = uvicorn.Config(
            app, host=svc.host, port=svc.port or 0, log_config=None, access_log=False
        )
        servers.append((name, svc, _Server(config)))
    tune_gc()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for _, _, server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    print(f"dropship (embedded) — data in {settings.data_dir.resolve()}", flush=True)
    for name, svc, _ in servers:
        print(f"  {name:<17} http://{svc.host}:{svc.port}/docs", flush=True)
    try:
        await asyncio.gather(*(server.serve() for _, _, server in servers))
    finally:
        await bus.close()
