"""Reconciliation's Shopify calls go through the shared Admin GraphQL client
(:class:`~order_intake.storefronts.shopify_admin.AdminClient`: the access token, the
configured API version, pacing by ``extensions.cost`` per shop, ``THROTTLED`` waits,
errors as :class:`StorefrontRejected` / :class:`StorefrontUnavailable`)."""

from __future__ import annotations

import httpx

from order_intake.config import OrderIntakeSettings
from order_intake.fulfilment.base import ShopAccess, StorefrontRejected
from order_intake.storefronts.shopify_admin import AdminClient


def admin_client(
    client: httpx.AsyncClient, shop: ShopAccess, settings: OrderIntakeSettings
) -> AdminClient:
    token = shop.credentials.get("access_token")
    if not isinstance(token, str) or not token:
        raise StorefrontRejected("the shop's admin credentials have no 'access_token'")
    return AdminClient(
        client,
        shop_key=str(shop.shop_id),
        access_token=token,
        api_version=settings.shopify_api_version,
    )
