"""Fixtures of the system tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dropship_testkit.private_infra import PrivateRabbit, private_rabbit


@pytest.fixture(scope="module")
async def private_mq() -> AsyncIterator[PrivateRabbit]:
    """A RabbitMQ node of the module's own, for a module with a test that stops the
    broker: stopping the machine's shared node would fail the tests running in the
    other pytest-xdist process."""
    async with private_rabbit() as node:
        yield node
