"""Messages logistics consumes: its handler registry, by contract model.

``order.confirmed`` gives the destination the routing rules need (country, postal code,
city: nothing else of the buyer); ``shipment.tracking_assigned`` opens the parcels; a
cancellation marks them (a parcel already shipped is still followed: it comes back or
is delivered); a redaction removes the destination; ``aftersales.return_shipped`` opens
the buyer's return parcel (events marked ``return_parcel``; parked before this release
and replayed on start).
"""

from __future__ import annotations

import uuid

from dropship_common.contracts.aftersales import AftersalesReturnShipped
from dropship_common.contracts.order_intake import (
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderRedacted,
)
from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.db import utcnow
from dropship_common.messaging.handlers import Handlers, MessageContext
from logistics.models import Destination
from logistics.parcels.repository import DestinationRepository, ParcelRepository
from logistics.parcels.service import open_parcels, open_return_parcel

registry = Handlers("logistics")


@registry.handles(OrderConfirmed)
async def order_confirmed(event: OrderConfirmed, ctx: MessageContext) -> None:
    address = event.shipping_address
    await DestinationRepository(ctx.session).remember(
        Destination(
            order_id=event.order_id,
            shop_id=event.shop_id,
            country=address.country_code,
            postal_code=(address.postal_code or None) and address.postal_code[:20],
            city=(address.city or None) and address.city[:120],
            language=event.buyer.language[:10],
        )
    )


@registry.handles(ShipmentTrackingAssigned)
async def tracking_assigned(event: ShipmentTrackingAssigned, ctx: MessageContext) -> None:
    await open_parcels(ctx.session, ctx.outbox, event, ctx.ref, utcnow())


@registry.handles(AftersalesReturnShipped)
async def return_shipped(event: AftersalesReturnShipped, ctx: MessageContext) -> None:
    """The buyer's return parcel of an aftersales case: followed, one per case."""
    reported = ctx.envelope.occurred_at
    await open_return_parcel(ctx.session, event, ctx.ref, utcnow(), reported)


async def _cancelled(ctx: MessageContext, order_id: uuid.UUID) -> None:
    now = utcnow()
    await DestinationRepository(ctx.session).cancelled(order_id, now)
    for parcel in await ParcelRepository(ctx.session).of_order(order_id, for_update=True):
        parcel.cancelled = True


@registry.handles(OrderCancelled)
async def order_cancelled(event: OrderCancelled, ctx: MessageContext) -> None:
    await _cancelled(ctx, event.order_id)


@registry.handles(OrderCancellationRequested)
async def cancellation_requested(event: OrderCancellationRequested, ctx: MessageContext) -> None:
    await _cancelled(ctx, event.order_id)


@registry.handles(OrderRedacted)
async def order_redacted(event: OrderRedacted, ctx: MessageContext) -> None:
    await DestinationRepository(ctx.session).scrub(event.order_id, event.redacted_at)
