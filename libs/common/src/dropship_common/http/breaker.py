"""A circuit breaker per host: closed, open after failures in a row, half-open for
one trial call after the cool-down."""

from __future__ import annotations

from typing import Literal

import httpx
import structlog

from dropship_common.http.errors import CircuitOpen
from dropship_common.http.policy import (
    Clock,
)

log = structlog.get_logger(__name__)

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
