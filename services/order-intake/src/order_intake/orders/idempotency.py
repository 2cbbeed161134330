"""``Idempotency-Key`` for ``POST /v1/orders``: the same key and body get the first
response again; the same key with another body is a 422; a duplicate arriving while
the first is still running is a 409. The key is claimed in its own short transaction
so that a concurrent duplicate sees it at once; the response is stored in the same
transaction as the order. A claim left by a process that died is taken over after
``LEASE``."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dropship_common.db import Database, utcnow
from order_intake.errors import IdempotencyInProgress, IdempotencyKeyReused
from order_intake.models import IdempotencyKey

LEASE = dt.timedelta(seconds=60)


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def claim(db: Database, principal: str, key: str, digest: str) -> tuple[int, Any] | None:
    """None: the caller goes ahead. (status, body): replay this stored response."""
    try:
        async with db.transaction() as session:
            session.add(
                IdempotencyKey(
                    principal=principal,
                    key=key,
                    request_hash=digest,
                    state="in_progress",
                    created_at=utcnow(),
                )
            )
        return None
    except IntegrityError:
        pass
    async with db.sessions() as session:
        row = await session.get(IdempotencyKey, (principal, key))
    if row is None:  # released in between: try once more
        return await claim(db, principal, key, digest)
    if row.request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another request body")
    if row.state != "done" or row.response_status is None:
        if row.created_at < utcnow() - LEASE and await _take_over(db, row):
            return None
        raise IdempotencyInProgress("a request with this Idempotency-Key is still running")
    return row.response_status, row.response_body


async def _take_over(db: Database, row: IdempotencyKey) -> bool:
    async with db.transaction() as session:
        result = await session.execute(
            sa.update(IdempotencyKey)
            .where(
                IdempotencyKey.principal == row.principal,
                IdempotencyKey.key == row.key,
                IdempotencyKey.state == "in_progress",
                IdempotencyKey.created_at == row.created_at,
            )
            .values(created_at=utcnow())
        )
    return bool(getattr(result, "rowcount", 0))


async def complete(
    session: Any, principal: str, key: str, status: int, body: dict[str, Any]
) -> None:
    await session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        .values(state="done", response_status=status, response_body=body)
    )


async def release(db: Database, principal: str, key: str) -> None:
    """The request failed: free the key so the client can retry."""
    async with db.transaction() as session:
        await session.execute(
            sa.delete(IdempotencyKey).where(
                IdempotencyKey.principal == principal,
                IdempotencyKey.key == key,
                IdempotencyKey.state == "in_progress",
            )
        )


async def purge_idempotency_keys(session: Any, older_than: dt.timedelta) -> None:
    await session.execute(
        sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - older_than)
    )
