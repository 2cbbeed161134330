"""Registers the shared fixtures (real PostgreSQL / RabbitMQ) for every test."""

from pathlib import Path

import pytest

from dropship_cli.services import all_migrations

pytest_plugins = ["dropship_testkit.pytest_plugin"]


@pytest.fixture(scope="session")
def service_migrations() -> dict[str, Path]:
    return all_migrations()
