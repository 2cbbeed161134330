"""Each service's migrations build the schema its models describe (PostgreSQL): a column,
index or type added to a model without a migration (or the reverse) fails here, not in
a merchant's database."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import aftersales.main
import logistics.main
import order_intake.main
import supplier_gateway.main

pytestmark = pytest.mark.integration

SPECS = {
    "order-intake": order_intake.main.SPEC,
    "supplier-gateway": supplier_gateway.main.SPEC,
    "logistics": logistics.main.SPEC,
    "aftersales": aftersales.main.SPEC,
}


def _differences(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", sorted(SPECS))
async def test_migrations_build_what_the_models_describe(databases, service: str) -> None:  # type: ignore[no-untyped-def]
    url = await databases.new(service)
    metadata = SPECS[service].tables.outbox.metadata
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences, metadata)
    finally:
        await engine.dispose()
    assert differences == []
