"""Async database access for PostgreSQL (asyncpg) and SQLite (aiosqlite).

The dialect is chosen by URL. Services never call ``commit()``: the request or the
consumer owns the transaction (see :func:`transaction`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


IMMEDIATE = "dropship_sqlite_immediate"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(when, dt.datetime)
        if when.tzinfo is None:
            return when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _json_dumps(value: Any) -> str:
    """As ``json.dumps`` would write it (int dict keys become strings)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine tuned for the backend: WAL + busy timeout on SQLite, a pool on PostgreSQL."""
    if is_sqlite(url):
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            # aiosqlite: let SQLAlchemy drive BEGIN so that a transaction really is one
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A unit of work takes the write lock up front (IMMEDIATE): no deadlock when
            # it upgrades a read lock. Reads begin deferred and never wait for writers.
            immediate = conn.get_execution_options().get(IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,  # parameters hold personal data: never in error logs
        json_serializer=_json_dumps,  # JSONB columns on every order row: orjson is
        json_deserializer=orjson.loads,  # several times faster than the json module
        pool_size=pool_size,
        max_overflow=pool_size,
        # no pre-ping (a round trip per checkout on the webhook path): a connection
        # broken by a database restart is invalidated on first use and the pool renewed
        pool_recycle=1800,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any exception."""
    async with sessions() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


AfterCommitHook = Callable[[AsyncSession], None]


class Database:
    """Engine + sessions of one service, and the hooks run after each commit
    (the outbox relay is woken there, so an event leaves right after its commit)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessions = make_sessionmaker(self.engine)
        self.after_commit: list[AfterCommitHook] = []

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit on success, roll back on any exception."""
        async with self.sessions() as session:
            async with session.begin():
                if self.is_sqlite:
                    await session.connection(execution_options={IMMEDIATE: True})
                yield session
            for hook in self.after_commit:
                hook(session)

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A pooled connection's asyncpg connection itself (PostgreSQL only), for the few
        hot statements where SQLAlchemy's per-row parameter handling costs more than the
        statement; the caller opens its own transaction on it (and the after-commit
        hooks do not run)."""
        if self.is_sqlite:
            raise RuntimeError("driver_connection() is for PostgreSQL")
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None  # a pooled connection is open when checked out
            try:
                yield driver
            except (
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,  # e.g. a server process that died mid-way
                OSError,
            ) as exc:
                # SQLAlchemy never saw this error: drop a broken connection from the
                # pool ourselves (there is no pre-ping), and raise what callers of the
                # ORM path catch
                broken = not isinstance(exc, asyncpg.PostgresError) or isinstance(
                    exc, asyncpg.PostgresConnectionError
                )
                if broken or driver.is_closed():
                    await conn.invalidate()
                raise _as_dbapi_error(exc) from exc

    async def ping(self) -> None:
        await ping(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _as_dbapi_error(exc: Exception) -> sa.exc.DBAPIError:
    kind: type[sa.exc.DBAPIError] = sa.exc.OperationalError
    if isinstance(exc, asyncpg.DataError):
        kind = sa.exc.DataError
    elif isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        kind = sa.exc.IntegrityError
    return kind("(statement on the driver connection)", None, exc)


def insert_ignore(table: Any, dialect_name: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for PostgreSQL and SQLite."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
