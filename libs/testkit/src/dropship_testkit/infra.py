"""Real PostgreSQL databases and RabbitMQ vhosts for tests.

A template database per service is built once by the migrations and cloned per test
(``CREATE DATABASE … TEMPLATE``), which is much faster than migrating each time.
Each test session gets its own RabbitMQ vhost, deleted at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg

from dropship_common.migrate import upgrade

PG_HOST = os.environ.get("DROPSHIP_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DROPSHIP_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DROPSHIP_TEST_PG_USER", "postgres")
AMQP_HOST = os.environ.get("DROPSHIP_TEST_AMQP_HOST", "127.0.0.1")
AMQP_PORT = int(os.environ.get("DROPSHIP_TEST_AMQP_PORT", "5672"))


def pg_url(database: str, driver: str = "postgresql+asyncpg") -> str:
    return f"{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")


async def drop_database(name: str) -> None:
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_database(name: str, template: str | None = None) -> str:
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()
    return pg_url(name)


class DatabaseFactory:
    """Clones per-service templates; drops every clone at :meth:`close`."""

    def __init__(self, prefix: str, migrations: dict[str, Path]) -> None:
        self.prefix = prefix
        self.migrations = migrations
        self.templates: dict[str, str] = {}
        self.created: list[str] = []

    async def template(self, service: str) -> str:
        if service not in self.templates:
            name = f"{self.prefix}_{service.replace('-', '_')}_tmpl"
            url = await create_database(name)
            await upgrade(self.migrations[service], url)
            self.templates[service] = name
        return self.templates[service]

    async def new(self, service: str) -> str:
        template = await self.template(service)
        name = f"{self.prefix}_{service.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        url = await create_database(name, template)
        self.created.append(name)
        return url

    async def close(self) -> None:
        for name in [*self.created, *self.templates.values()]:
            await drop_database(name)


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        raise RuntimeError("rabbitmqctl not found: the tests need a local RabbitMQ")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False)


def create_vhost(name: str) -> str:
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{quote(name, safe='')}"


def delete_vhost(name: str) -> None:
    rabbitmqctl("delete_vhost", name)
