"""The one backoff schedule every retry uses: webhooks, the outbox relay, e-mail,
storefront write-backs, supplier placements, CJ messages, outbound HTTP, reconnects."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    factor: float = 2.0,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based):
    ``base · factor^(attempt-1)``, at most ``cap``, less a random share of at most
    ``jitter`` of it (0.5 is "equal jitter": half fixed, half random), so that callers
    failing together do not all come back in the same second."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter is a share between 0 and 1")
    try:
        ceiling = min(cap, base * factor ** max(0, attempt - 1))
    except OverflowError:  # a huge attempt number: the cap
        ceiling = cap
    return ceiling * (1.0 - jitter * rand()) if jitter else ceiling


def backoff_interval(
    attempt: int,
    *,
    base: float,
    cap: float,
    factor: float = 2.0,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> dt.timedelta:
    """:func:`backoff_delay` as a ``timedelta`` (for ``next_attempt_at`` columns)."""
    return dt.timedelta(
        seconds=backoff_delay(attempt, base=base, cap=cap, factor=factor, jitter=jitter, rand=rand)
    )
