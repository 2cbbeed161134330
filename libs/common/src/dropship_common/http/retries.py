"""The retry loop (:class:`ResilientTransport`, an httpx transport) and how it reads
``Retry-After``."""

from __future__ import annotations

import asyncio
import email.utils
import math
import random as _random
import time
from collections.abc import Callable

import httpx
import structlog

from dropship_common.backoff import backoff_delay
from dropship_common.egress import DestinationRefused
from dropship_common.http.breaker import CircuitBreaker
from dropship_common.http.errors import HostNotAllowed, OutcomeUnknown
from dropship_common.http.policy import (
    Clock,
    OutboundPolicy,
    Sleep,
)
from dropship_common.http.rate_limit import RateLimiter, TokenBucket
from dropship_common.observability import redact_url

log = structlog.get_logger(__name__)

# --------------------------------------------------------------------------------------
# Retry-After
# --------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds (``"120"``, also
    ``"2.0"`` as Shopify sends it) or an HTTP date, relative to ``now`` (Unix time).
    None when absent or unparseable; never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


# --------------------------------------------------------------------------------------
# the transport
# --------------------------------------------------------------------------------------

# Failed before anything was sent: safe to retry for every method.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Worth another attempt (for an idempotent request) and a sign of a sick host.
_TRANSIENT: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
# Our own mistakes (bad URL scheme, invalid request): neither retried nor a host failure.
_OURS: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


class ResilientTransport(httpx.AsyncBaseTransport):
    """Wraps ``inner`` (usually ``httpx.AsyncHTTPTransport``) with the policy.

    ``sleep``, ``clock`` (monotonic seconds, for breaker and rate limit), ``wall_clock``
    (Unix time, for Retry-After dates) and ``random`` (jitter) are injectable for tests.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: OutboundPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        random: Callable[[], float] = _random.random,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self._limiter = limiter  # instead of a token bucket per host
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._random = random
        self._breakers: dict[str, CircuitBreaker] = {}
        self._buckets: dict[str, TokenBucket] = {}

    # -- per host state ----------------------------------------------------------------

    def breaker(self, host: str) -> CircuitBreaker:
        host = host.lower()
        found = self._breakers.get(host)
        if found is None:
            found = self._breakers[host] = CircuitBreaker(
                host, self.policy.breaker_threshold, self.policy.breaker_cooldown, self._clock
            )
        return found

    def _bucket(self, host: str) -> RateLimiter | None:
        if self._limiter is not None:
            return self._limiter
        rate = self.policy.rate_per_second
        if rate is None:
            return None
        found = self._buckets.get(host)
        if found is None:
            burst = self.policy.rate_burst or max(1.0, rate)
            found = self._buckets[host] = TokenBucket(rate, burst, self._clock, self._sleep)
        return found

    # -- decisions ---------------------------------------------------------------------

    def check_allowed(self, request: httpx.Request) -> str:
        host = request.url.host.lower()
        if request.url.scheme not in self.policy.allowed_schemes:
            raise HostNotAllowed(f"scheme {request.url.scheme!r} not allowed", request=request)
        if not self.policy.host_allowed(host):
            raise HostNotAllowed(f"host {host!r} is not an allowed host", request=request)
        if request.url.userinfo:
            raise HostNotAllowed("credentials in the URL are not sent", request=request)
        problem = self.policy.egress.scheme_problem(request.url.scheme, host)
        if problem:
            raise HostNotAllowed(problem, request=request)
        return host

    def is_idempotent(self, request: httpx.Request) -> bool:
        flag = request.extensions.get("idempotent")
        if isinstance(flag, bool):
            return flag
        return request.method.upper() in self.policy.idempotent_methods

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based)."""
        p = self.policy
        return backoff_delay(
            attempt, base=p.backoff_base, cap=p.backoff_cap, jitter=p.jitter, rand=self._random
        )

    # -- the loop ----------------------------------------------------------------------

    async def _send_once(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.policy.buffer_responses or response.is_stream_consumed:
            return response  # (a transport may hand back a response already read)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
            request=request,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = self.check_allowed(request)
        idempotent = self.is_idempotent(request)
        policy = self.policy
        if policy.max_attempts > 1:
            await request.aread()  # a streamed body could not be sent a second time
        breaker = self.breaker(host)
        bucket = self._bucket(host)
        attempt = 0
        while True:
            attempt += 1
            breaker.before_request(request)
            try:
                if bucket is not None:
                    await bucket.acquire()
                response = await self._send_once(request)
            except _OURS:
                breaker.release()
                raise
            except DestinationRefused as exc:  # at connect time: nothing was sent
                breaker.release()
                log.warning("outbound_destination_refused", host=host, reason=str(exc))
                raise HostNotAllowed(str(exc), request=request) from exc
            except httpx.TransportError as exc:
                if isinstance(exc, _TRANSIENT):
                    breaker.record_failure()
                else:
                    breaker.release()
                sent = not isinstance(exc, _NOT_SENT)
                if sent and not idempotent:
                    log.warning(
                        "outbound_outcome_unknown",
                        host=host,
                        method=request.method,
                        url=redact_url(str(request.url)),
                        error=type(exc).__name__,
                    )
                    raise OutcomeUnknown(
                        f"{request.method} {host}{request.url.path}: {type(exc).__name__} "
                        "after the request may have been sent; look the outcome up before "
                        "repeating it",
                        request=request,
                    ) from exc
                if attempt >= policy.max_attempts or not isinstance(exc, _TRANSIENT):
                    raise
                delay = self.backoff(attempt)
                self._log_retry(request, host, attempt, delay, type(exc).__name__)
                await self._sleep(delay)
                continue
            except BaseException:
                breaker.release()
                raise

            if response.status_code >= 500:
                breaker.record_failure()
            else:
                breaker.record_success()
            if (
                response.status_code not in policy.retry_statuses
                or not idempotent
                or attempt >= policy.max_attempts
            ):
                return response
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall_clock())
            if retry_after is not None and retry_after > policy.retry_after_cap:
                log.warning(
                    "outbound_retry_after_too_long",
                    host=host,
                    status=response.status_code,
                    retry_after=retry_after,
                )
                return response
            delay = retry_after if retry_after is not None else self.backoff(attempt)
            await response.aclose()
            self._log_retry(request, host, attempt, delay, str(response.status_code))
            await self._sleep(delay)

    def _log_retry(
        self, request: httpx.Request, host: str, attempt: int, delay: float, reason: str
    ) -> None:
        log.info(
            "outbound_retry",
            host=host,
            method=request.method,
            url=redact_url(str(request.url)),
            attempt=attempt,
            wait=round(delay, 3),
            reason=reason,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
