"""Failed "order number + e-mail" look-ups limited per client IP: at
``help_lookup_max_failures`` misses within ``help_lookup_window_seconds`` the next
attempts are answered 429 without looking. Counted in the process (embedded mode is one
process; each replica of a distributed deployment counts its own): an address guessing
e-mails gets a handful of tries per window and replica, never an unbounded number."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

MAX_CLIENTS = 10_000  # the oldest client is forgotten first beyond this


class LookupLimit:
    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures, self.window = max_failures, window_seconds
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.get(client, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Seconds until this client may try again, or None."""
        now = time.monotonic() if now is None else now
        failures = self._recent(client, now)
        if len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        failures = self._recent(client, now)
        failures.append(now)
        self._failures[client] = failures
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)
