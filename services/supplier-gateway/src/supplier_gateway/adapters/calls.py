"""Every HTTP attempt an adapter makes, for the supplier order's timeline.

:class:`RecordingTransport` sits under the resilient transport (so retries made inside it
are seen one by one) and appends to the :class:`CallLog` of the supplier order being
worked on, found through a context variable: adapters need not know about it."""

from __future__ import annotations

import contextlib
import contextvars
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from dropship_common.egress import EgressRules, guarded_transport
from dropship_common.http import OutboundPolicy, RateLimiter, make_client
from supplier_gateway.config import SupplierGatewaySettings

_current: contextvars.ContextVar[CallLog | None] = contextvars.ContextVar(
    "supplier_call_log", default=None
)


class CallLog:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def active(self) -> Iterator[CallLog]:
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def note(self, **entry: Any) -> None:
        self.calls.append(entry)


def _vendor_code(response: httpx.Response) -> Any:
    """The vendor's own result code in a JSON body (CJ's ``code``), if any."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.loads(response.content)
        if isinstance(body, dict):
            return body.get("code")
    return None


class RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        log = _current.get()
        started = time.monotonic()
        entry: dict[str, Any] = {"request": f"{request.method} {request.url.path}"}
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            entry["error"] = type(exc).__name__
            raise
        else:
            await response.aread()
            entry["status"] = response.status_code
            code = _vendor_code(response)
            if code is not None:
                entry["code"] = code
            return response
        finally:
            entry["ms"] = round((time.monotonic() - started) * 1000)
            if log is not None:
                log.note(**entry)

    async def aclose(self) -> None:
        await self.inner.aclose()


def supplier_client(
    base_url: str,
    settings: SupplierGatewaySettings,
    *,
    rate_per_second: float | None,
    transport: httpx.AsyncBaseTransport | None = None,
    rate_limiter: Callable[[float], RateLimiter] | None = None,
) -> httpx.AsyncClient:
    """A resilient client for one supplier account: only the configured host, its own
    breaker and rate limit, every attempt recorded."""
    host = urlsplit(base_url).hostname or ""
    timeout = settings.supplier_timeout_seconds
    policy = OutboundPolicy(
        egress=EgressRules.from_settings(settings),
        allowed_hosts={host},
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        breaker_threshold=settings.supplier_breaker_threshold,
        breaker_cooldown=settings.supplier_breaker_cooldown_seconds,
        rate_per_second=rate_per_second,
        backoff_base=0.2,
        backoff_cap=2.0,
    )
    inner = transport or guarded_transport(
        policy.egress, max_connections=20, max_keepalive_connections=10
    )
    limiter = rate_limiter(rate_per_second) if rate_limiter and rate_per_second else None
    return make_client(
        policy, base_url=base_url, transport=RecordingTransport(inner), limiter=limiter
    )
