"""Supplier accounts' rate limits, shared across replicas: :class:`dropship_common.
rate_slots.DbRateLimiter` failing with :class:`SupplierUnavailable` when the queue is
full (the placement is retried later)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from dropship_common.db import Database
from dropship_common.rate_slots import DbRateLimiter as _DbRateLimiter
from supplier_gateway.adapters.base import SupplierUnavailable


class DbRateLimiter(_DbRateLimiter):
    def __init__(
        self,
        db: Database,
        key: str,
        rate: float,
        *,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(db, key, rate, max_wait=max_wait, sleep=sleep, on_full=SupplierUnavailable)
