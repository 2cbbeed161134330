"""Adapters by kind, one instance per supplier account (its breaker, rate limit and CJ
token live in it), made again when the supplier's credentials change."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from dropship_common.settings import Settings
from supplier_gateway.adapters import cjdropshipping, http_supplier
from supplier_gateway.adapters.base import SupplierAdapter
from supplier_gateway.adapters.cjdropshipping import CJAdapter
from supplier_gateway.adapters.http_supplier import HttpSupplierAdapter

AdapterFactory = Callable[
    [dict[str, Any], Settings, httpx.AsyncBaseTransport | None], SupplierAdapter
]

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
        settings: Settings,
        factories: dict[str, AdapterFactory] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.factories = dict(FACTORIES if factories is None else factories)
        self.transport = transport  # tests: an in-process fake
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
        adapter = self.factories[kind](creds, self.settings, self.transport)
        if known is not None:
            self._stale.append(known[1])
        self._made[supplier_id] = (stamp, adapter)
        return adapter

    async def aclose(self) -> None:
        for adapter in [a for _, a in self._made.values()] + self._stale:
            await adapter.aclose()
        self._made.clear()
        self._stale.clear()
