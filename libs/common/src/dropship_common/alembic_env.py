"""The body of every service's migrations/env.py (async engine, batch mode on SQLite)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from dropship_common.db import make_engine


def _do_run(connection: Connection, metadata: sa.MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: sa.MetaData) -> None:
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        await conn.run_sync(_do_run, metadata)
        await conn.commit()
    await engine.dispose()


def run(metadata: sa.MetaData) -> None:
    cfg = context.config
    url = cfg.attributes.get("database_url") or cfg.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(str(url), metadata))
