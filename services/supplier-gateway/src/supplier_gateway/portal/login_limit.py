"""Failed portal sign-ins limited per client IP and per key id (``dsk_<id>_…``): at
``portal_login_max_failures`` failures within ``portal_login_window_seconds`` further
attempts are answered 429 (with Retry-After) without the key being looked at. Failures
are rows in the database, so every gateway replica counts the same ones; two replicas
racing may let a few attempts more through, never an unbounded number."""

from __future__ import annotations

import sqlalchemy as sa

from dropship_common import failure_limit
from dropship_common.runtime import ServiceRuntime
from supplier_gateway.config import config_of
from supplier_gateway.models import PortalLoginFailure

FAILURES: sa.Table = PortalLoginFailure.__table__  # type: ignore[assignment]


def buckets(client_ip: str | None, key: str) -> list[str]:
    """What an attempt counts against: its client, and the key id it names (if any)."""
    out = [failure_limit.bucket("ip", client_ip)]
    parts = key.split("_")
    if len(parts) >= 3 and parts[0] == "dsk" and parts[1]:
        out.append(failure_limit.bucket("key", parts[1]))
    return out


async def retry_after(rt: ServiceRuntime, names: list[str]) -> int | None:
    """Seconds until an attempt may be made again, or None when none of ``names`` is
    over the limit."""
    c = config_of(rt)
    return await failure_limit.retry_after(
        rt.db, FAILURES, names, max_failures=c.portal_login_max_failures,
        window_seconds=c.portal_login_window_seconds,
    )  # fmt: skip


async def record_failure(rt: ServiceRuntime, names: list[str]) -> None:
    """Count a failed attempt against each bucket (and drop every failure that left the
    window: the table holds one window's failures, whatever the buckets)."""
    window = config_of(rt).portal_login_window_seconds
    await failure_limit.record_failure(rt.db, FAILURES, names, window_seconds=window)
