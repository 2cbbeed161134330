"""Orders found by reconciliation go in as webhook deliveries: the same table, the same
processor, the same validation.

A version already stored (the webhook did arrive) is not fed at all. Otherwise the
delivery id is derived from the order and its version, ``reconcile:<id>@<updated>``:
overlapping runs store it once, and if the webhook for that version is processed
first after all, the processor finds the version stored and changes nothing
(:func:`is_reconciled`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from order_intake.models import WebhookDelivery
from order_intake.storefront_sync.base import FetchedOrder
from order_intake.storefront_sync.repository import SyncRepository
from order_intake.storefronts import InvalidPayload
from order_intake.webhooks.repository import DeliveryRepository
from order_intake.webhooks.topics import validate_body

log = structlog.get_logger(__name__)

PREFIX = "reconcile:"


def delivery_id(order: FetchedOrder) -> str:
    return f"{PREFIX}{order.external_id}@{order.updated_at.isoformat()}"


def is_reconciled(delivery: WebhookDelivery) -> bool:
    return delivery.delivery_id.startswith(PREFIX)


async def feed(
    session: AsyncSession, shop_id: uuid.UUID, platform: str, orders: Sequence[FetchedOrder]
) -> int:
    """Store what the shop's stored orders lack; returns how many were new."""
    stored = await SyncRepository(session).stored_versions(shop_id, [o.external_id for o in orders])
    deliveries = DeliveryRepository(session)
    fed = 0
    for order in orders:
        known = stored.get(order.external_id)
        if known is not None and known >= order.updated_at:
            continue
        try:
            validate_body(platform, order.topic, order.body)
        except InvalidPayload as exc:
            log.warning(
                "reconciled_order_invalid",
                shop=str(shop_id),
                order=order.external_id,
                error=exc.message,
            )
            continue
        fed += await deliveries.store(
            platform, shop_id, delivery_id(order), order.topic, order.body
        )
    return fed
