"""When to try placing a supplier order again (pure)."""

from __future__ import annotations

import datetime as dt
import random


def retry_delay(
    attempts: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rand: float | None = None,
) -> float:
    """Seconds until the next try after ``attempts`` failed ones: what the supplier asked
    for (Retry-After, a breaker's cool-down) if it said, else exponential backoff with
    "equal jitter" (half fixed, half random), so a supplier back from an outage is not
    hit by every waiting order in the same second."""
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(cap, base * 2.0 ** max(0, attempts - 1))
    r = random.random() if rand is None else rand
    return ceiling / 2 + ceiling / 2 * r


def next_attempt(now: dt.datetime, delay: float) -> dt.datetime:
    return now + dt.timedelta(seconds=delay)
