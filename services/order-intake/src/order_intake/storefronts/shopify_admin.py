"""One client for every order-intake call to Shopify's Admin GraphQL API.

Shopify limits an app on a shop by calculated query cost, with a leaky bucket
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): a query runs only
when the bucket holds its requested cost, and every answer carries ``extensions.cost``
(``requestedQueryCost``, ``actualQueryCost``, ``throttleStatus``: ``maximumAvailable``,
``currentlyAvailable``, ``restoreRate``). This client keeps that state per shop and paces
itself by it: before a query whose cost (the one Shopify reported for the same query
last time, or the caller's estimate) is more than the bucket holds now, it waits for
the missing points at the restore rate. A ``THROTTLED`` answer waits for the points the
query needs, no longer. Short waits happen in place; a longer one raises
:class:`StorefrontUnavailable` with ``retry_after``, so the caller reschedules.

The path carries the API version asked for (``DROPSHIP_SHOPIFY_API_VERSION``). Shopify
answers an unsupported version with the oldest supported one and says which in
``X-Shopify-API-Version`` (https://shopify.dev/docs/api/usage/versioning): that is
logged as a warning and counted once per shop and version served.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from prometheus_client import Counter

from order_intake.config import SHOPIFY_API_VERSION
from order_intake.fulfilment.base import StorefrontRejected, StorefrontUnavailable
from order_intake.fulfilment.http_errors import calling, check_status

__all__ = [
    "API_VERSION_MISMATCH",
    "MAX_WAIT_IN_PLACE",
    "AdminClient",
    "Bucket",
    "ShopBuckets",
    "throttle_wait",
]

log = structlog.get_logger(__name__)

API_VERSION_MISMATCH = Counter(
    "shopify_api_version_mismatch",
    "Shops whose Admin API answered with another version than the one asked for "
    "(counted once per shop and version served)",
    ["asked", "served"],
)

MAX_WAIT_IN_PLACE = 10.0  # seconds waited in place; longer: StorefrontUnavailable
MAX_THROTTLED_TRIES = 3
VERSION_HEADER = "x-shopify-api-version"
TEMPORARY_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


@dataclass
class Bucket:
    """What the last answer said of one shop's bucket, and when (``clock`` time).
    ``reserved``: points of queries sent since, not yet answered."""

    maximum: float
    available: float
    restore_rate: float
    at: float
    reserved: float = 0.0

    def available_at(self, now: float) -> float:
        filled = self.available + max(0.0, now - self.at) * self.restore_rate
        return min(self.maximum, filled) - self.reserved

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` points are available (0 when they are now)."""
        missing = cost - self.available_at(now)
        if missing <= 0 or self.restore_rate <= 0:
            return 0.0
        return missing / self.restore_rate


@dataclass
class ShopBuckets:
    """Per-shop bucket state and the cost last reported for each query, kept across
    calls (one per process: the rate limit is per app and shop)."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    costs: dict[tuple[str, str], float] = field(default_factory=dict)
    version_warned: set[tuple[str, str]] = field(default_factory=set)


DEFAULT_BUCKETS = ShopBuckets()


def _errors(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    errors = body.get("errors") or []
    return [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []


def _cost(body: Mapping[str, Any]) -> Mapping[str, Any]:
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    return cost if isinstance(cost, Mapping) else {}


def is_throttled(body: Mapping[str, Any]) -> bool:
    return any(
        (e.get("extensions") or {}).get("code") == "THROTTLED" or e.get("message") == "Throttled"
        for e in _errors(body)
    )


def throttle_wait(body: Mapping[str, Any]) -> float | None:
    """Seconds until a throttled query can run: the points it needs beyond those
    available, at the restore rate. None when the answer is not a throttle."""
    if not is_throttled(body):
        return None
    cost = _cost(body)
    status = cost.get("throttleStatus") or {}
    try:
        requested = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(0.0, requested - available) / rate


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class AdminClient:
    """Admin GraphQL calls for one shop. ``client`` is limited to the shop's domain;
    ``shop_key`` names the shop's bucket (its id)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        shop_key: str,
        access_token: str,
        api_version: str = SHOPIFY_API_VERSION,
        buckets: ShopBuckets | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_wait: float = MAX_WAIT_IN_PLACE,
    ) -> None:
        self.client = client
        self.shop_key = shop_key
        self.access_token = access_token
        self.api_version = api_version
        self.state = buckets if buckets is not None else DEFAULT_BUCKETS
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait

    @property
    def path(self) -> str:
        return f"/admin/api/{self.api_version}/graphql.json"

    @property
    def bucket(self) -> Bucket | None:
        return self.state.buckets.get(self.shop_key)

    async def _wait(self, seconds: float, what: str) -> None:
        if seconds > self.max_wait:
            raise StorefrontUnavailable(f"{what}: throttled", retry_after=seconds)
        if seconds > 0:
            await self.sleep(seconds)

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        what: str,
        read_only: bool,
        cost: float | None = None,
    ) -> dict[str, Any]:
        """``data`` of the answer. ``cost``: the query's expected cost when known (else
        the one Shopify reported for it last time is used for pacing)."""
        expected = cost if cost is not None else self.state.costs.get((self.shop_key, query))
        for _ in range(MAX_THROTTLED_TRIES):
            bucket = self.bucket
            reserved = 0.0
            if bucket is not None and expected:
                await self._wait(bucket.wait_for(expected, self.clock()), what)
                reserved = expected
                bucket.reserved += reserved
            try:
                response = await self._post(query, variables, what=what, read_only=read_only)
            finally:
                current = self.bucket  # another call's answer may have replaced it
                if current is not None and reserved:
                    current.reserved = max(0.0, current.reserved - reserved)
            body = _json(response)
            if body is not None:
                self._note(body, query)
            self._check_version(response)
            wait = throttle_wait(body) if body is not None else None
            if wait is None:
                check_status(response, what, time.time())
                if body is None:
                    raise StorefrontUnavailable(f"{what}: answer is not JSON")
                return self._data(body, what)
            await self._wait(wait, what)
        raise StorefrontUnavailable(f"{what}: still throttled", retry_after=1.0)

    async def _post(
        self, query: str, variables: Mapping[str, Any] | None, *, what: str, read_only: bool
    ) -> httpx.Response:
        async with calling(what):
            return await self.client.post(
                self.path,
                json={"query": query, "variables": dict(variables or {})},
                headers={"X-Shopify-Access-Token": self.access_token},
                extensions={"idempotent": read_only},
            )

    def _note(self, body: Mapping[str, Any], query: str) -> None:
        """Keep the shop's bucket as the answer states it, and the query's cost."""
        cost = _cost(body)
        status = cost.get("throttleStatus")
        try:
            requested = cost.get("requestedQueryCost")
            if requested is not None:
                self.state.costs[(self.shop_key, query)] = float(requested)
            if isinstance(status, Mapping):
                reserved = self.bucket.reserved if self.bucket is not None else 0.0
                self.state.buckets[self.shop_key] = Bucket(
                    maximum=float(status["maximumAvailable"]),
                    available=float(status["currentlyAvailable"]),
                    restore_rate=float(status["restoreRate"]),
                    at=self.clock(),
                    reserved=reserved,
                )
        except (KeyError, TypeError, ValueError):
            log.warning("shopify_cost_unreadable", shop=self.shop_key, cost=str(cost)[:300])

    def _check_version(self, response: httpx.Response) -> None:
        served = response.headers.get(VERSION_HEADER)
        if not served or served == self.api_version:
            return
        key = (self.shop_key, served)
        if key in self.state.version_warned:
            return
        self.state.version_warned.add(key)
        API_VERSION_MISMATCH.labels(asked=self.api_version, served=served).inc()
        log.warning(
            "shopify_api_version_mismatch",
            shop=self.shop_key,
            asked=self.api_version,
            served=served,
            hint="the version asked for is no longer supported: set "
            "DROPSHIP_SHOPIFY_API_VERSION to a supported one",
        )

    @staticmethod
    def _data(body: Mapping[str, Any], what: str) -> dict[str, Any]:
        errors = body.get("errors")
        if errors:
            listed = _errors(body)
            codes = {str((e.get("extensions") or {}).get("code")) for e in listed}
            message = ("; ".join(str(e.get("message")) for e in listed) or str(errors))[:500]
            if codes & TEMPORARY_CODES:
                raise StorefrontUnavailable(f"{what}: {message}")
            raise StorefrontRejected(f"{what}: {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise StorefrontUnavailable(f"{what}: no data in the answer")
        return data
