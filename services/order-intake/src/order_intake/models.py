"""Tables of order-intake. All SQL against them lives in the feature repositories."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, WriteOnlyMapped, mapped_column, relationship

from dropship_common.db import NAMING_CONVENTION, JSONType, UTCDateTime, utcnow
from dropship_common.parked import add_parked_events_table
from dropship_common.secretbox import EncryptedJSON
from dropship_common.tables import add_common_tables

Money = sa.Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSONType}


common = add_common_tables(Base.metadata)
# events bound before the features that handle them (aftersales' refunds)
parked_events = add_parked_events_table(Base.metadata)


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (sa.UniqueConstraint("platform", "domain"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    platform: Mapped[str] = mapped_column(sa.String(20))
    domain: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str | None] = mapped_column(sa.String(255))
    # secrets: encrypted at rest (dropship_common.secretbox)
    webhook_secrets: Mapped[list[str]] = mapped_column(EncryptedJSON)  # current first
    admin_credentials: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    payment_window_days: Mapped[int] = mapped_column(default=20)
    payment_reminder_days: Mapped[list[int]] = mapped_column(JSONType)
    accept_authorized: Mapped[bool] = mapped_column(default=True)
    buyer_language: Mapped[str] = mapped_column(sa.String(10), default="en")
    handling_days: Mapped[int] = mapped_column(default=3)
    ship_from_country: Mapped[str] = mapped_column(sa.String(2), default="CN")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShopSync(Base):
    """A shop with admin credentials: how far its orders were reconciled with the
    storefront (the cursor), and the last check of its webhook subscriptions."""

    __tablename__ = "shop_syncs"
    __table_args__ = (sa.Index("ix_shop_syncs_due", "next_sync_at"),)

    shop_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    # orders changed at the storefront up to here were asked for (the next run looks
    # back from here by the overlap)
    orders_synced_until: Mapped[dt.datetime]
    next_sync_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # also the lease
    last_sync_at: Mapped[dt.datetime | None]
    last_sync_error: Mapped[str | None] = mapped_column(sa.Text)
    orders_recovered: Mapped[int] = mapped_column(default=0)  # fed by reconciliation
    # unchecked | ok | repaired | broken
    webhooks_status: Mapped[str] = mapped_column(sa.String(20), default="unchecked")
    webhooks_problems: Mapped[list[str]] = mapped_column(JSONType)
    webhooks_checked_at: Mapped[dt.datetime | None]
    next_webhook_check_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Product(Base):
    """A SKU the shop sells and we can route to a supplier."""

    __tablename__ = "products"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "sku"),
        sa.Index("ix_products_shop_external", "shop_id", "external_product_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id", ondelete="CASCADE"))
    sku: Mapped[str | None] = mapped_column(sa.String(255))
    external_product_id: Mapped[str | None] = mapped_column(sa.String(255))
    external_variant_id: Mapped[str | None] = mapped_column(sa.String(255))
    title: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "external_id"),
        sa.Index("ix_orders_status_created", "status", "created_at", "id"),
        sa.Index("ix_orders_created", "created_at", "id"),
        sa.Index("ix_orders_buyer_email", "buyer_email"),
        sa.Index("ix_orders_number", "number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # no index on shop_id alone: the unique (shop_id, external_id) serves it (see
    # migration 0005 and OrderRepository._ids_by_external)
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"))
    platform: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    number: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(32))
    payment_status: Mapped[str] = mapped_column(sa.String(32))
    currency: Mapped[str] = mapped_column(sa.String(3))
    total_price: Mapped[Decimal] = mapped_column(Money)
    subtotal_price: Mapped[Decimal | None] = mapped_column(Money)
    total_tax: Mapped[Decimal | None] = mapped_column(Money)
    shipping_price: Mapped[Decimal | None] = mapped_column(Money)
    shipping_method: Mapped[str | None] = mapped_column(sa.String(255))
    buyer: Mapped[dict[str, Any]] = mapped_column(JSONType)
    buyer_email: Mapped[str | None] = mapped_column(sa.String(320))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    address_overridden: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    note_attributes: Mapped[list[dict[str, str]]] = mapped_column(JSONType)
    hold_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    reminders_sent: Mapped[list[int]] = mapped_column(JSONType)
    cancelled_at_source: Mapped[bool] = mapped_column(default=False)
    test: Mapped[bool] = mapped_column(default=False)
    placed_at: Mapped[dt.datetime]
    source_updated_at: Mapped[dt.datetime]
    confirmed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    handed_off_at: Mapped[dt.datetime | None]
    cancellation_requested_at: Mapped[dt.datetime | None]
    ship_by: Mapped[dt.date | None]
    redacted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="OrderLine.position"
    )
    # never loaded through the order; declared so that a new order is inserted before
    # its timeline entries and messages in the same flush
    events: WriteOnlyMapped[OrderEvent] = relationship(passive_deletes=True)
    messages: WriteOnlyMapped[BuyerMessage] = relationship(passive_deletes=True)


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    sku: Mapped[str | None] = mapped_column(sa.String(255))
    sku_override: Mapped[str | None] = mapped_column(sa.String(255))
    external_product_id: Mapped[str | None] = mapped_column(sa.String(255))
    external_variant_id: Mapped[str | None] = mapped_column(sa.String(255))
    title: Mapped[str] = mapped_column(sa.String(500))
    variant_title: Mapped[str | None] = mapped_column(sa.String(500))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)
    grams: Mapped[int | None]
    requires_shipping: Mapped[bool] = mapped_column(default=True)
    properties: Mapped[list[dict[str, str]]] = mapped_column(JSONType)

    @property
    def effective_sku(self) -> str | None:
        return self.sku_override or self.sku


class OrderEvent(Base):
    """The order's timeline: each state change and what caused it."""

    __tablename__ = "order_events"
    __table_args__ = (sa.Index("ix_order_events_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str | None] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cause: Mapped[str | None] = mapped_column(sa.String(200))
    actor: Mapped[str] = mapped_column(sa.String(100))


class WebhookDelivery(Base):
    """A verified storefront delivery, stored before it is answered; processed after
    commit. The raw body is dropped once processed (it holds personal data)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("platform", "shop_id", "delivery_id"),
        sa.Index(
            "ix_webhook_deliveries_pending",  # claimed oldest first (migration 0004)
            "received_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    platform: Mapped[str] = mapped_column(sa.String(20))
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"))
    delivery_id: Mapped[str] = mapped_column(sa.String(200))
    topic: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    order_id: Mapped[uuid.UUID | None]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(255))
    state: Mapped[str] = mapped_column(sa.String(20))  # in_progress | done
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BuyerMessage(Base):
    """A message to the buyer, written with the change that causes it and sent after
    commit by the mailer (never on the webhook's path)."""

    __tablename__ = "buyer_messages"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "kind", "dedupe_key"),
        sa.Index(
            "ix_buyer_messages_pending",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    dedupe_key: Mapped[str] = mapped_column(sa.String(40), default="")
    language: Mapped[str] = mapped_column(sa.String(10))
    to_address: Mapped[str | None] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class ComplianceRequest(Base):
    """Shopify's customers/data_request, customers/redact, shop/redact, as received."""

    __tablename__ = "compliance_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"))
    topic: Mapped[str] = mapped_column(sa.String(50))
    customer_external_id: Mapped[str | None] = mapped_column(sa.String(255))
    order_external_ids: Mapped[list[str]] = mapped_column(JSONType)
    orders_affected: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Parcel(Base):
    """A parcel a supplier shipped, as ``shipment.tracking_assigned`` reported it. The
    same tracking number twice is one parcel."""

    __tablename__ = "parcels"
    __table_args__ = (sa.UniqueConstraint("order_id", "tracking_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    tracking_number: Mapped[str] = mapped_column(sa.String(64))
    carrier: Mapped[str] = mapped_column(sa.String(100))
    tracking_url: Mapped[str] = mapped_column(sa.String(500))
    supplier_order_id: Mapped[uuid.UUID]
    supplier_id: Mapped[uuid.UUID]
    line_ids: Mapped[list[str]] = mapped_column(JSONType)
    fulfilment_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("fulfilments.id", ondelete="SET NULL")
    )
    shipped_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # where it is, as logistics last said (``shipment.status_changed``)
    status: Mapped[str | None] = mapped_column(sa.String(24))
    status_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]


class Fulfilment(Base):
    """One supplier shipment written back to the storefront (its parcels' tracking
    numbers and lines): written with the parcels in the consumer's transaction, sent by
    the fulfilment worker after commit, retried until the storefront accepts it."""

    __tablename__ = "fulfilments"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "tracking_number"),
        sa.Index(
            "ix_fulfilments_due",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"), index=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    tracking_number: Mapped[str] = mapped_column(sa.String(64))  # the first parcel's
    tracking_numbers: Mapped[list[str]] = mapped_column(JSONType)
    tracking_urls: Mapped[list[str]] = mapped_column(JSONType)
    carrier: Mapped[str] = mapped_column(sa.String(100))
    line_ids: Mapped[list[str]] = mapped_column(JSONType)
    completes_order: Mapped[bool] = mapped_column(default=False)
    shipped_at: Mapped[dt.datetime]
    # pending | sending (claimed, lease until next_attempt_at) | sent | failed | skipped
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    external_ref: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class Milestone(Base):
    """A parcel's milestone written to the storefront (Shopify ``fulfillmentEventCreate``
    on the order's fulfilment; WooCommerce a private note, and ``completed`` on
    delivery): one row per parcel and milestone, sent by the milestone worker after
    commit, retried until the storefront accepts it, never twice."""

    __tablename__ = "milestones"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "tracking_number", "milestone"),
        sa.Index(
            "ix_milestones_due",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"))
    platform: Mapped[str] = mapped_column(sa.String(20))
    tracking_number: Mapped[str] = mapped_column(sa.String(64))
    milestone: Mapped[str] = mapped_column(sa.String(24))  # logistics' status, or "delayed"
    happened_at: Mapped[dt.datetime]
    message: Mapped[str | None] = mapped_column(sa.String(500))
    estimated_delivery: Mapped[dt.date | None]
    completes_delivery: Mapped[bool] = mapped_column(default=False)  # every parcel delivered
    # pending | sending (claimed, lease until next_attempt_at) | sent | failed | skipped
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    external_ref: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class StorefrontCredit(Base):
    """Money aftersales asked the storefront to give back for a case: a refund
    (``aftersales.refund_requested``) or a single-use discount code
    (``aftersales.discount_requested``). One row per case and kind, whatever the
    deliveries; accepted under a lock of the order (never more than the order's total
    with the refunds already made or on their way), sent by the credit worker after
    commit, retried with the storefront's own idempotency (Shopify ``@idempotent``) or a
    lookup first (WooCommerce), its outcome published for aftersales."""

    __tablename__ = "storefront_credits"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "kind"),
        sa.Index(
            "ix_storefront_credits_due",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending', 'open')"),
            sqlite_where=sa.text("status IN ('pending', 'sending', 'open')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID]
    # refund | discount (money to the buyer) | payment (asked of the buyer: a link)
    kind: Mapped[str] = mapped_column(sa.String(10))
    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shops.id"))
    platform: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    reason: Mapped[str] = mapped_column(sa.String(500))
    code: Mapped[str | None] = mapped_column(sa.String(64))  # a discount's code
    ends_at: Mapped[dt.datetime | None]  # a discount's end; a payment link's expiry
    payment_url: Mapped[str | None] = mapped_column(sa.Text)  # the buyer's payment link
    # 0, then 1, 2 … each time the case asks again after this one failed (a new try, a
    # new idempotency key)
    round: Mapped[int] = mapped_column(default=0, server_default="0")
    # pending | sending (claimed, lease until next_attempt_at) | done | failed; a payment
    # is open while its link waits to be paid (looked at again at next_attempt_at)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    external_ref: Mapped[str | None] = mapped_column(sa.String(255))  # the storefront's id
    gateway_refunded: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None]
