"""An ``httpx.AsyncClient`` with the egress guard, retries, breaker and rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx

from dropship_common.egress import guarded_transport
from dropship_common.http.errors import HostNotAllowed
from dropship_common.http.policy import (
    Clock,
    OutboundPolicy,
    Sleep,
)
from dropship_common.http.rate_limit import RateLimiter
from dropship_common.http.retries import ResilientTransport


def make_client(
    policy: OutboundPolicy,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
    limiter: RateLimiter | None = None,
) -> httpx.AsyncClient:
    """An ``AsyncClient`` for one outside system (make it in the app's lifespan and close
    it there). ``transport``: the inner transport (e.g. ``httpx.MockTransport`` or an
    ``ASGITransport`` in tests); by default a pooled ``AsyncHTTPTransport``. A
    ``base_url`` whose host the policy does not allow is refused here already."""
    if base_url:
        probe = httpx.Request("GET", base_url)
        if probe.url.scheme not in policy.allowed_schemes or not policy.host_allowed(
            probe.url.host
        ):
            raise HostNotAllowed(f"base_url host {probe.url.host!r} is not an allowed host")
        if probe.url.userinfo:
            raise HostNotAllowed("credentials in the base URL are not sent")
    inner = transport or guarded_transport(policy.egress)
    return httpx.AsyncClient(
        transport=ResilientTransport(inner, policy, sleep=sleep, clock=clock, limiter=limiter),
        base_url=base_url or "",
        headers=headers,
        timeout=policy.timeout,
        follow_redirects=False,
        trust_env=False,
    )
