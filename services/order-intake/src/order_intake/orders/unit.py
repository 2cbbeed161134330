"""One transaction's order work, shared by every use case: what it reads (shops, stored
orders, the shop's known SKUs) and where its writes go (new orders, timeline entries,
events, buyer messages).

Two ways to run, chosen once when the unit is made, never asked again by the use cases:

* :meth:`OrderUnit.direct`: each read a query, each write added to the session and the
  outbox at once (API requests, message handlers, workers);
* :meth:`OrderUnit.batched`: a batch of webhook deliveries, its reads done up front in a
  few queries (:class:`Prefetched`) and its events written in one statement at the end;
  in *bulk* mode (the batch holds order versions only, so nothing in it reads back what
  it creates) new orders, timeline entries and buyer messages too
  (:meth:`OrderUnit.flush`).

Services never commit: the caller owns the transaction, so a state change, its timeline
entry, its events (outbox) and its buyer message are one commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from dropship_common.messaging.envelope import Envelope
from dropship_common.messaging.outbox import Outbox
from order_intake.errors import OrderNotFound
from order_intake.messages.service import MAIL_FLAG, buyer_message_row, queue_buyer_message
from order_intake.models import Order, OrderEvent, Shop
from order_intake.orders.repository import OrderRepository
from order_intake.products.repository import ProductRepository
from order_intake.shops.repository import ShopRepository


@dataclass(frozen=True)
class Cause:
    """Who or what made a change: shown in the timeline."""

    actor: str  # "webhook:shopify", "apikey:ab12cd34", "system:payment-sweeper"
    ref: str | None = None  # the webhook delivery / message / request that caused it


@dataclass
class Prefetched:
    """What a batch of deliveries reads, loaded up front (:mod:`order_intake.orders.batch`):
    the stored orders by (shop, external id), each shop's known SKU / product keys, and
    the shops (strong references: the session's identity map is weak and would load a
    shop again for every order)."""

    orders: dict[tuple[uuid.UUID, str], Order | None] = field(default_factory=dict)
    known_keys: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    shops: dict[uuid.UUID, Shop] = field(default_factory=dict)


@dataclass
class _Batch:
    """The batch's writes kept for :meth:`OrderUnit.flush`."""

    bulk: bool
    created: set[uuid.UUID] = field(default_factory=set)
    events: list[Envelope] = field(default_factory=list)
    new_orders: list[Order] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class OrderUnit:
    def __init__(
        self,
        session: AsyncSession,
        outbox: Outbox,
        *,
        prefetched: Prefetched | None = None,
        batch: _Batch | None = None,
    ) -> None:
        self.session = session
        self.outbox = outbox
        self.repo = OrderRepository(session)
        self._prefetched = prefetched or Prefetched()
        self._batch = batch

    @classmethod
    def direct(cls, session: AsyncSession, outbox: Outbox) -> OrderUnit:
        return cls(session, outbox)

    @classmethod
    def batched(
        cls, session: AsyncSession, outbox: Outbox, prefetched: Prefetched, *, bulk: bool
    ) -> OrderUnit:
        return cls(session, outbox, prefetched=prefetched, batch=_Batch(bulk=bulk))

    # --- reads ---------------------------------------------------------------------
    async def shop(self, shop_id: uuid.UUID) -> Shop:
        shop = self._prefetched.shops.get(shop_id)
        if shop is None:
            shop = await ShopRepository(self.session).get(shop_id)
            assert shop is not None
            self._prefetched.shops[shop_id] = shop
        return shop

    async def stored(self, shop_id: uuid.UUID, external_id: str) -> Order | None:
        """The stored order of a storefront order (locked), or the batch's own."""
        key = (shop_id, external_id)
        if key in self._prefetched.orders:
            return self._prefetched.orders[key]
        return await self.repo.by_external(shop_id, external_id, for_update=True)

    async def known_keys(self, order: Order) -> set[str]:
        known = self._prefetched.known_keys.get(order.shop_id)
        if known is not None:
            return known  # the batch's SKUs, read up front
        skus = [line.effective_sku for line in order.lines if line.effective_sku]
        pids = [line.external_product_id for line in order.lines if line.external_product_id]
        return await ProductRepository(self.session).known_keys(order.shop_id, skus, pids)

    async def load(self, order_id: uuid.UUID) -> tuple[Order, Shop]:
        """An order (locked) and its shop; :class:`OrderNotFound` if there is none."""
        order = await self.repo.get(order_id, for_update=True)
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return order, await self.shop(order.shop_id)

    # --- writes --------------------------------------------------------------------
    def add_new(self, order: Order) -> None:
        if self._batch is not None:
            self._batch.created.add(order.id)
            self._prefetched.orders[(order.shop_id, order.external_id)] = order
            if self._batch.bulk:
                self._batch.new_orders.append(order)  # inserted by flush()
                return
        self.session.add(order)

    def record(
        self,
        order: Order,
        kind: str,
        cause: Cause,
        *,
        from_status: str | None = None,
        to_status: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """A timeline entry of the order."""
        entry = {
            "order_id": order.id,
            "at": at or utcnow(),
            "kind": kind,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "details": details,
            "cause": cause.ref,
            "actor": cause.actor,
        }
        if self._batch is not None and self._batch.bulk:
            self._batch.timeline.append(entry)
        else:
            self.session.add(OrderEvent(**entry))

    async def publish(
        self, order: Order, event: Any, cause: Cause, *, message_id: uuid.UUID | None = None
    ) -> None:
        """An event of the order, into the outbox (a batch's: at :meth:`flush`).
        ``message_id``: a deterministic envelope id, for an event that must be one
        message however often its cause arrives (consumers' inboxes skip the same id)."""
        envelope: Envelope = event.envelope(correlation_id=str(order.id), causation_id=cause.ref)
        if message_id is not None:
            envelope = envelope.model_copy(update={"id": message_id})
        if self._batch is not None:
            self._batch.events.append(envelope)
        else:
            await self.outbox.add(self.session, [envelope])

    async def message_buyer(
        self, order: Order, shop: Shop, kind: str, context: dict[str, Any]
    ) -> None:
        new = self._batch is not None and order.id in self._batch.created
        if new and self._batch is not None and self._batch.bulk:
            # new in this batch: nothing queued for it yet, and it is written by flush()
            self._batch.messages.append(buyer_message_row(order, shop, kind, context))
            self.session.info[MAIL_FLAG] = True
            return
        await queue_buyer_message(self.session, order, shop, kind, context, new_order=new)

    async def flush(self) -> None:
        """A batch's kept writes, in the order they happened (same transaction)."""
        batch = self._batch
        if batch is None:
            return
        if batch.bulk:
            await self.repo.insert_new(batch.new_orders, batch.timeline, batch.messages)
            batch.new_orders, batch.timeline, batch.messages = [], [], []
        if batch.events:
            await self.outbox.add(self.session, batch.events)
            batch.events = []
