"""Failed portal sign-ins limited per client IP and per key id (``dsk_<id>_…``): at
``portal_login_max_failures`` failures within ``portal_login_window_seconds`` further
attempts are answered 429 (with Retry-After) without the key being looked at. Failures
are rows in the database, so every gateway replica counts the same ones; two replicas
racing may let a few attempts more through, never an unbounded number."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa

from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from supplier_gateway.config import config_of
from supplier_gateway.models import PortalLoginFailure


def buckets(client_ip: str | None, key: str) -> list[str]:
    """What an attempt counts against: its client, and the key id it names (if any)."""
    out = [f"ip:{client_ip or 'unknown'}"[:100]]
    parts = key.split("_")
    if len(parts) >= 3 and parts[0] == "dsk" and parts[1]:
        out.append(f"key:{parts[1]}"[:100])
    return out


async def retry_after(rt: ServiceRuntime, names: list[str]) -> int | None:
    """Seconds until an attempt may be made again, or None when none of ``names`` is
    over the limit."""
    window = dt.timedelta(seconds=config_of(rt).portal_login_window_seconds)
    now = utcnow()
    f = PortalLoginFailure
    async with rt.db.sessions() as session:
        rows = (
            await session.execute(
                sa.select(f.bucket, sa.func.count(), sa.func.min(f.at))
                .where(f.bucket.in_(names), f.at > now - window)
                .group_by(f.bucket)
            )
        ).all()
    waits = [
        (oldest + window - now).total_seconds()
        for _, count, oldest in rows
        if count >= config_of(rt).portal_login_max_failures
    ]
    return max(1, math.ceil(max(waits))) if waits else None


async def record_failure(rt: ServiceRuntime, names: list[str]) -> None:
    """Count a failed attempt against each bucket (and drop every failure that left the
    window: the table holds one window's failures, whatever the buckets)."""
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=config_of(rt).portal_login_window_seconds)
    async with rt.db.transaction() as session:
        await session.execute(sa.delete(PortalLoginFailure).where(PortalLoginFailure.at <= cutoff))
        session.add_all(PortalLoginFailure(bucket=name, at=now) for name in names)
