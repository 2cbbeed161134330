"""Failed attempts limited per bucket (a client address, a key id, an order number) in a
sliding window, counted in the database so that every replica of a service counts the
same ones: at ``max_failures`` within ``window_seconds`` further attempts are refused
(the caller answers 429 with Retry-After) without being looked at. Two replicas racing
may let a few more through, never an unbounded number. The table holds one window's
failures: each new failure drops the ones that left it."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from dropship_common.db import Database, UTCDateTime, utcnow


def add_failures_table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True, default=uuid.uuid4),
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Index(f"ix_{name}_bucket_at", "bucket", "at"),
    )


def bucket(kind: str, value: str | None) -> str:
    return f"{kind}:{value or 'unknown'}"[:100]


async def retry_after(
    db: Database,
    table: sa.Table,
    buckets: Sequence[str],
    *,
    max_failures: int,
    window_seconds: float,
) -> int | None:
    """Seconds until an attempt may be made again, or None when no bucket is over."""
    window = dt.timedelta(seconds=window_seconds)
    now = utcnow()
    t = table.c
    async with db.sessions() as session:
        rows = (
            await session.execute(
                sa.select(t.bucket, sa.func.count(), sa.func.min(t.at))
                .where(t.bucket.in_(list(buckets)), t.at > now - window)
                .group_by(t.bucket)
            )
        ).all()
    waits = [
        (oldest + window - now).total_seconds()
        for _, count, oldest in rows
        if count >= max_failures
    ]
    return max(1, math.ceil(max(waits))) if waits else None


async def record_failure(
    db: Database, table: sa.Table, buckets: Sequence[str], *, window_seconds: float
) -> None:
    """Count a failed attempt against each bucket."""
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=window_seconds)
    async with db.transaction() as session:
        await session.execute(sa.delete(table).where(table.c.at <= cutoff))
        await session.execute(
            sa.insert(table), [{"id": uuid.uuid4(), "bucket": b, "at": now} for b in buckets]
        )
