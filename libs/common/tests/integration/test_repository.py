"""The repository base on PostgreSQL: reads by id, locks in id order, claims that skip
the rows another transaction holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dropship_common.db import Database
from dropship_common.repository import Repository

pytestmark = pytest.mark.integration


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "repository_test_jobs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    due: Mapped[int]


class JobRepository(Repository[Job]):
    model = Job


@pytest.fixture
async def db(databases) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(await databases.new("supplier-gateway"))
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


async def test_get_and_get_many_in_id_order(db: Database) -> None:
    ids = sorted(uuid.uuid4() for _ in range(4))
    async with db.transaction() as session:
        for n, id_ in enumerate(reversed(ids)):
            JobRepository(session).add(Job(id=id_, due=n))
    async with db.transaction() as session:
        repo = JobRepository(session)
        assert (await repo.get(ids[2])) is not None
        assert await repo.get(uuid.uuid4()) is None
        got = await repo.get_many([ids[3], ids[0], uuid.uuid4(), ids[0]], for_update=True)
        assert [j.id for j in got] == [ids[0], ids[3]]
        assert await repo.get_many([]) == []


async def test_a_claim_skips_the_rows_another_transaction_holds(db: Database) -> None:
    ids = sorted(uuid.uuid4() for _ in range(4))
    async with db.transaction() as session:
        for n, id_ in enumerate(ids):
            JobRepository(session).add(Job(id=id_, due=n))
    async with db.transaction() as holder:
        held = await JobRepository(holder).get_many(ids[:2], for_update=True)
        assert len(held) == 2
        async with db.transaction() as worker:
            query = sa.select(Job).order_by(Job.due)
            claimed = await JobRepository(worker).claim(query, limit=10)
            assert [j.id for j in claimed] == ids[2:]
