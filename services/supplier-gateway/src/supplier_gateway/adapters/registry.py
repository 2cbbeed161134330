"""Adapters by kind, one instance per supplier account (its breaker, rate limit and CJ
token live in it), made again when the supplier's credentials change."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from dropship_common.http import RateLimiter
from supplier_gateway.adapters import cjdropshipping, http_supplier
from supplier_gateway.adapters.base import AdapterContext, SupplierAdapter, TokenStore
from supplier_gateway.adapters.cjdropshipping import CJAdapter
from supplier_gateway.adapters.http_supplier import HttpSupplierAdapter
from supplier_gateway.config import SupplierGatewaySettings

AdapterFactory = Callable[[dict[str, Any], AdapterContext], SupplierAdapter]
StoreFactory = Callable[[uuid.UUID], TokenStore]
LimiterFactory = Callable[[uuid.UUID, float], RateLimiter]  # supplier, calls per second

FACTORIES: dict[str, AdapterFactory] = {
    CJAdapter.kind: CJAdapter,
    HttpSupplierAdapter.kind: HttpSupplierAdapter,
}
# portal suppliers have no API: their orders are placed (shown) at once
OUTSIDE_KINDS = tuple(FACTORIES)

CREDENTIAL_CHECKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    CJAdapter.kind: cjdropshipping.credential_problems,
    HttpSupplierAdapter.kind: http_supplier.credential_problems,
}


def credential_problems(kind: str, credentials: dict[str, Any]) -> list[str]:
    """What is wrong with these credentials for an adapter of ``kind`` (none: fine)."""
    check = CREDENTIAL_CHECKS.get(kind)
    return check(credentials) if check else []


class AdapterRegistry:
    def __init__(
        self,
        settings: SupplierGatewaySettings,
        factories: dict[str, AdapterFactory] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        token_stores: StoreFactory | None = None,
        rate_limiters: LimiterFactory | None = None,
    ) -> None:
        self.settings = settings
        self.factories = dict(FACTORIES if factories is None else factories)
        self.transport = transport  # tests: an in-process fake
        self.token_stores = token_stores
        self.rate_limiters = rate_limiters
        self._made: dict[uuid.UUID, tuple[str, SupplierAdapter]] = {}
        self._stale: list[SupplierAdapter] = []

    def for_supplier(
        self, supplier_id: uuid.UUID, kind: str, credentials: dict[str, Any] | None
    ) -> SupplierAdapter:
        """Raises KeyError for a kind with no adapter, ValueError for bad credentials."""
        creds = credentials or {}
        stamp = hashlib.sha256(
            json.dumps([kind, creds], sort_keys=True, default=str).encode()
        ).hexdigest()
        known = self._made.get(supplier_id)
        if known is not None and known[0] == stamp:
            return known[1]
        context = AdapterContext(
            self.settings,
            supplier_id,
            self.transport,
            self.token_stores(supplier_id) if self.token_stores else None,
            self._limiter_for(supplier_id),
        )
        adapter = self.factories[kind](creds, context)
        if known is not None:
            self._stale.append(known[1])
        self._made[supplier_id] = (stamp, adapter)
        return adapter

    def _limiter_for(self, supplier_id: uuid.UUID) -> Callable[[float], RateLimiter] | None:
        make = self.rate_limiters
        if make is None:
            return None
        return lambda rate: make(supplier_id, rate)

    async def aclose(self) -> None:
        for adapter in [a for _, a in self._made.values()] + self._stale:
            await adapter.aclose()
        self._made.clear()
        self._stale.clear()
