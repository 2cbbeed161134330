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


async def missing(
    session: AsyncSession, shop_id: uuid.UUID, orders: Sequence[FetchedOrder]
) -> list[FetchedOrder]:
    """The versions newer than what the shop's stored orders have (or not stored)."""
    stored = await SyncRepository(session).stored_versions(shop_id, [o.external_id for o in orders])
    return [
        o for o in orders if (known := stored.get(o.external_id)) is None or known < o.updated_at
    ]


async def store(
    session: AsyncSession, shop_id: uuid.UUID, platform: str, orders: Sequence[FetchedOrder]
) -> int:
    """Store the versions as deliveries, validated as a webhook's body is; returns how
    many were new (not stored by an earlier, overlapping run)."""
    deliveries = DeliveryRepository(session)
    fed = 0
    for order in orders:
        try:
            if order.body is None:
                raise InvalidPayload("the storefront gave no body for this order")
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


async def feed(
    session: AsyncSession, shop_id: uuid.UUID, platform: str, orders: Sequence[FetchedOrder]
) -> int:
    """:func:`missing` then :func:`store`, for orders listed with their bodies."""
    return await store(session, shop_id, platform, await missing(session, shop_id, orders))
