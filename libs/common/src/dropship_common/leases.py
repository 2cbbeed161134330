"""Work claimed with a lease and done after commit, one item after another (e-mails,
fulfilments written back to a storefront).

A worker claims a batch in a short transaction (each row marked as taken until
``now + lease``), does the work with no transaction open, and records the outcome in a
second transaction. Two things keep a slow batch from doing an item twice:

- an item not started within half the lease is handed back unsent (``None``), so it is
  never sent while another replica, seeing the lease run out, claims and sends it too;
- the outcome is recorded only if the row still carries this claim's token (the lease's
  end, or a claim counter): a worker that lost its claim writes nothing over the next.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def one_by_one_within(
    lease: dt.timedelta,
    items: Sequence[T],
    send: Callable[[T], Awaitable[R]],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> list[tuple[T, R | None]]:
    """``send`` each item in turn; an item not started within half of ``lease`` (from
    now) comes back with ``None``: not sent, to be given back by the caller."""
    give_up = clock() + lease.total_seconds() / 2
    done: list[tuple[T, R | None]] = []
    for item in items:
        done.append((item, await send(item) if clock() < give_up else None))
    return done
