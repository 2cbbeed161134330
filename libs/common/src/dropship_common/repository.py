"""The small base every repository builds on (the idea of Polar's ``kit/repository``):
one model, one session, and the reads every feature repeats, written once: by id, by
ids, optionally locked (``SELECT … FOR UPDATE``, rows locked in id order so that two
transactions locking the same rows cannot deadlock), and due rows claimed with
``SKIP LOCKED``. SQL lives in repositories; services call them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

M = TypeVar("M")


def locked(query: sa.Select[Any], for_update: bool = True) -> sa.Select[Any]:
    """``query`` with ``FOR UPDATE`` when asked (SQLite ignores it: one writer)."""
    return query.with_for_update() if for_update else query


class Repository(Generic[M]):
    model: ClassVar[type[Any]]
    # loaded with every row this repository returns (e.g. ``selectinload(Order.lines)``)
    options: ClassVar[Sequence[ORMOption]] = ()

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        """The database's dialect name (``postgresql`` or ``sqlite``)."""
        return self.session.get_bind().dialect.name

    def select(self) -> sa.Select[Any]:
        query: sa.Select[Any] = sa.select(self.model)
        return query.options(*self.options) if self.options else query

    def add(self, obj: M) -> None:
        self.session.add(obj)

    async def one(self, query: sa.Select[Any], *, for_update: bool = False) -> M | None:
        found: M | None = await self.session.scalar(locked(query, for_update))
        return found

    async def all(self, query: sa.Select[Any], *, for_update: bool = False) -> list[M]:
        return list(await self.session.scalars(locked(query, for_update)))

    async def get(self, id_: uuid.UUID, *, for_update: bool = False) -> M | None:
        return await self.one(self.select().where(self.model.id == id_), for_update=for_update)

    async def get_many(self, ids: Iterable[uuid.UUID], *, for_update: bool = False) -> list[M]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = self.select().where(self.model.id.in_(wanted)).order_by(self.model.id)
        return await self.all(query, for_update=for_update)

    async def claim(self, query: sa.Select[Any], limit: int) -> list[M]:
        """Up to ``limit`` rows of ``query``, locked; rows another transaction holds are
        skipped (several workers share one table)."""
        return list(
            await self.session.scalars(query.limit(limit).with_for_update(skip_locked=True))
        )
