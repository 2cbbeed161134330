"""The one way to call outside systems (storefronts, suppliers, carriers, aggregators).

:func:`make_client` returns an ``httpx.AsyncClient`` whose transport is a
:class:`ResilientTransport` applying an :class:`OutboundPolicy`:

* **Allowed hosts only** (no server-side request forgery): a request to a host not in
  ``allowed_hosts`` (exact names, or ``*.example.com`` for any subdomain) raises
  :class:`HostNotAllowed` before anything is sent. Redirects are not followed. The
  deployment's :class:`~dropship_common.egress.EgressRules` (``policy.egress``) apply on
  top: no credentials in URLs, https only in distributed mode, and the default
  transport connects only to public addresses (checked at connect time).
* **Timeouts everywhere** (connect 5 s, read/write 15 s, pool 5 s by default).
* **Retries only where a repeat is safe**: idempotent methods (GET, HEAD, PUT, DELETE,
  OPTIONS), or any request sent with ``extensions={"idempotent": True}`` (e.g. a POST
  carrying an idempotency key the vendor honours); ``{"idempotent": False}`` turns
  retries off for one request. Retried: connection failures, timeouts and network
  errors, and the statuses 429, 502, 503, 504, with exponential backoff and jitter.
  A failure to *connect* is retried for every method: nothing was sent.
* **Unknown outcome**: when a non-idempotent request fails after it may have been sent
  (read timeout, connection dropped mid-way, …) :class:`OutcomeUnknown` is raised and
  nothing is retried. The caller must look the effect up (e.g. the supplier order by our
  own order number) before trying again: placing an order twice costs real money.
* **Retry-After** (seconds or an HTTP date) is honoured for the retried statuses. A
  server asking for more than ``retry_after_cap`` seconds gets no retry: the response is
  returned at once, so the caller can reschedule instead of holding a worker.
* **Circuit breaker per host**: after ``breaker_threshold`` consecutive failures
  (transport errors or 5xx) the host's circuit opens and requests fail at once with
  :class:`CircuitOpen`; after ``breaker_cooldown`` one trial request is let through
  (half-open); its success closes the circuit, its failure opens it again.
* **Rate limit per host**: a token bucket of ``rate_per_second`` with ``rate_burst``
  tokens; a request waits for a token (every attempt takes one). Limits are per
  transport, so an account with its own quota gets its own client; a ``limiter``
  given to :func:`make_client` replaces the bucket (one shared by every process that
  calls the account, e.g. kept in the database).
* Logged URLs go through :func:`~dropship_common.observability.redact_url`: no userinfo,
  no token-like query values.
* Response bodies are read inside the transport (``buffer_responses``), so a failure
  while reading the body is handled like any other (retried, or OutcomeUnknown).

Why not ``stamina`` for the retry loop: stamina can take a Retry-After delay from a
backoff hook, but it sleeps with ``asyncio.sleep`` directly (no injectable clock or sleep;
its test mode turns *every* wait, Retry-After included, into 0, so a test cannot check
the wait), it retries on exceptions only (retryable *responses* would have to be raised
and the last one dug out again), and it cannot consult the circuit breaker before each
attempt or give up early on a too-long Retry-After. The loop below is short and does
all of that with an injectable ``sleep``, ``clock`` and ``random``.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx
import structlog

from dropship_common.backoff import backoff_delay
from dropship_common.egress import DestinationRefused, EgressRules, guarded_transport
from dropship_common.observability import redact_url

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "CircuitBreaker",
    "CircuitOpen",
    "HostNotAllowed",
    "OutboundError",
    "OutboundPolicy",
    "OutcomeUnknown",
    "RateLimiter",
    "ResilientTransport",
    "TokenBucket",
    "make_client",
    "parse_retry_after",
]

log = structlog.get_logger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def _default_timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)


@dataclass(frozen=True)
class OutboundPolicy:
    """How calls to one outside system behave. Hosts are compared lower-case."""

    allowed_hosts: frozenset[str] | set[str] = field(default_factory=frozenset)
    timeout: httpx.Timeout = field(default_factory=_default_timeout)
    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 10.0
    jitter: float = 0.5  # share of each backoff taken away at random (0: no jitter)
    retry_after_cap: float = 60.0
    retry_statuses: frozenset[int] = RETRY_STATUSES
    idempotent_methods: frozenset[str] = IDEMPOTENT_METHODS
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    rate_per_second: float | None = None
    rate_burst: float | None = None  # default: max(1, rate_per_second)
    allowed_schemes: frozenset[str] = frozenset({"https", "http"})
    buffer_responses: bool = True
    # where the default transport may connect (the deployment's rules; strict default)
    egress: EgressRules = field(default_factory=EgressRules)

    def __post_init__(self) -> None:
        hosts = frozenset(h.strip().lower().rstrip(".") for h in self.allowed_hosts if h.strip())
        object.__setattr__(self, "allowed_hosts", hosts)
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.breaker_threshold < 1:
            raise ValueError("breaker_threshold must be >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.rate_per_second is not None and self.rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if not host:
            return False
        for allowed in self.allowed_hosts:
            if allowed.startswith("*."):
                if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                    return True
            elif host == allowed:
                return True
        return False


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


class OutboundError(Exception):
    """Base of the errors this module raises. Deliberately *not* an ``httpx.HTTPError``:
    a blanket ``except httpx.HTTPError`` must not swallow :class:`OutcomeUnknown`."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class HostNotAllowed(OutboundError):
    """The URL's host (or scheme) is not in the policy: nothing was sent."""


class CircuitOpen(OutboundError):
    """The host's circuit is open: nothing was sent. ``retry_in``: seconds until a
    trial request will be let through."""

    def __init__(self, host: str, retry_in: float, *, request: httpx.Request | None = None) -> None:
        super().__init__(f"circuit open for {host}; retry in {retry_in:.1f}s", request=request)
        self.host = host
        self.retry_in = retry_in


class OutcomeUnknown(OutboundError):
    """A non-idempotent request may have reached the server but no response came back.
    Look the effect up before repeating it. ``__cause__`` is the httpx error."""


# --------------------------------------------------------------------------------------
# circuit breaker and rate limit
# --------------------------------------------------------------------------------------

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Consecutive-failure breaker: closed -> open after ``threshold`` failures;
    open -> half-open after ``cooldown`` seconds, letting one trial request through;
    the trial's success closes it, its failure reopens it."""

    def __init__(self, host: str, threshold: int, cooldown: float, clock: Clock) -> None:
        self.host = host
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def before_request(self, request: httpx.Request | None = None) -> None:
        """Raise :class:`CircuitOpen` unless a request may go now."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        assert self._opened_at is not None
        retry_in = max(0.0, self._opened_at + self.cooldown - self._clock())
        raise CircuitOpen(self.host, retry_in, request=request)

    def record_success(self) -> None:
        if self._opened_at is not None:
            log.info("circuit_closed", host=self.host)
        self.failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._trial_in_flight or (self._opened_at is None and self.failures >= self.threshold):
            log.warning("circuit_opened", host=self.host, failures=self.failures)
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def release(self) -> None:
        """A request ended without a verdict (cancelled, our own error): free the
        half-open trial slot."""
        self._trial_in_flight = False


class RateLimiter(Protocol):
    """Waits until the next call may go out (per account, shared by replicas: a table;
    per process: :class:`TokenBucket`)."""

    async def acquire(self) -> None: ...


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; waiters queue on a lock."""

    def __init__(self, rate: float, burst: float, clock: Clock, sleep: Sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


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
