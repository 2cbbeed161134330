"""When to try placing a supplier order again (pure)."""

from __future__ import annotations

import datetime as dt
import random

from dropship_common.backoff import backoff_delay


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
    r = random.random() if rand is None else rand
    # equal jitter: the random share is taken away from the ceiling (1 - r: same spread)
    return backoff_delay(attempts, base=base, cap=cap, jitter=0.5, rand=lambda: 1.0 - r)


def next_attempt(now: dt.datetime, delay: float) -> dt.datetime:
    return now + dt.timedelta(seconds=delay)
