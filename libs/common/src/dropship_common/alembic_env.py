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
        if conn.dialect.name == "sqlite":
            # batch mode rebuilds a table by copying it and dropping the original; with
            # foreign keys on, that drop would first cascade-delete every row pointing
            # at it (timelines, e-mails). Off for the migration (outside a transaction:
            # SQLite ignores the pragma inside one), checked again after it.
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        await conn.run_sync(_do_run, metadata)
        if conn.dialect.name == "sqlite":
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"migration left rows with broken references: {broken[:5]}")
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
