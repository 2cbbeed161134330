"""The Shopify Admin GraphQL calls of reconciliation, through the write-back's client
(the access token, ``extensions.cost`` and ``THROTTLED`` waits, errors as
:class:`StorefrontRejected` / :class:`StorefrontUnavailable`)."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from order_intake.fulfilment.base import ShopAccess
from order_intake.fulfilment.shopify import ShopifyFulfilment


class GraphQL(Protocol):
    async def query(self, query: str, variables: dict[str, Any], *, what: str) -> dict[str, Any]:
        """``data`` of a read (safe to repeat)."""

    async def mutate(self, query: str, variables: dict[str, Any], *, what: str) -> dict[str, Any]:
        """``data`` of a write (not repeated blindly)."""


class _ThroughWriteBack:
    def __init__(self, client: httpx.AsyncClient, shop: ShopAccess) -> None:
        self._plugin = ShopifyFulfilment(client, shop)

    async def query(self, query: str, variables: dict[str, Any], *, what: str) -> dict[str, Any]:
        return await self._plugin.graphql(query, variables, what=what, read_only=True)

    async def mutate(self, query: str, variables: dict[str, Any], *, what: str) -> dict[str, Any]:
        return await self._plugin.graphql(query, variables, what=what, read_only=False)


def graphql_client(client: httpx.AsyncClient, shop: ShopAccess) -> GraphQL:
    return _ThroughWriteBack(client, shop)
