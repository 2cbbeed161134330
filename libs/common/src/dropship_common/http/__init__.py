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

One module each: :mod:`.policy`, :mod:`.errors`, :mod:`.breaker`, :mod:`.rate_limit`,
:mod:`.retries` (the loop), :mod:`.client` (:func:`make_client`).
"""

from dropship_common.http.breaker import CircuitBreaker
from dropship_common.http.client import make_client
from dropship_common.http.errors import CircuitOpen, HostNotAllowed, OutboundError, OutcomeUnknown
from dropship_common.http.policy import IDEMPOTENT_METHODS, RETRY_STATUSES, OutboundPolicy
from dropship_common.http.rate_limit import RateLimiter, TokenBucket
from dropship_common.http.retries import ResilientTransport, parse_retry_after

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
