"""How calls to one outside system behave (:class:`OutboundPolicy`) and what counts
as idempotent or worth a retry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import structlog

from dropship_common.egress import EgressRules

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
