"""Tables of supplier-gateway. All SQL against them lives in the feature repositories."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dropship_common.db import NAMING_CONVENTION, JSONType, UTCDateTime, utcnow
from dropship_common.parked import add_parked_events_table
from dropship_common.secretbox import EncryptedJSON, EncryptedText
from dropship_common.tables import add_common_tables


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSONType}


metadata = Base.metadata
common = add_common_tables(metadata)
parked_events = add_parked_events_table(metadata)


class Supplier(Base):
    """A dropship supplier and how we reach it (``adapter``)."""

    __tablename__ = "suppliers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    adapter: Mapped[str] = mapped_column(sa.String(20))  # cjdropshipping | http | portal
    credentials: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)  # encrypted
    handling_days: Mapped[int]
    holiday_country: Mapped[str] = mapped_column(sa.String(2), default="CN")
    ship_from_country: Mapped[str] = mapped_column(sa.String(2), default="CN")
    contact_email: Mapped[str | None] = mapped_column(sa.String(320))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Mapping(Base):
    """A shop's SKU -> one supplier's product, with what a customs declaration needs.
    Several per SKU in ``priority`` order (1 first), optionally for one destination."""

    __tablename__ = "mappings"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "sku", "supplier_id", "destination_country"),
        sa.Index("ix_mappings_shop_sku", "shop_id", "sku"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shop_id: Mapped[uuid.UUID]  # order-intake's shop (another service: no foreign key)
    sku: Mapped[str] = mapped_column(sa.String(255))
    supplier_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("suppliers.id"))
    supplier_product_id: Mapped[str] = mapped_column(sa.String(255))
    supplier_variant_id: Mapped[str | None] = mapped_column(sa.String(255))
    unit_cost: Mapped[Decimal] = mapped_column(sa.Numeric(18, 4))
    currency: Mapped[str] = mapped_column(sa.String(3))
    customs_description: Mapped[str] = mapped_column(sa.String(255))
    hs_code: Mapped[str | None] = mapped_column(sa.String(12))
    weight_grams: Mapped[int]
    priority: Mapped[int] = mapped_column(default=1)
    destination_country: Mapped[str | None] = mapped_column(sa.String(2))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# a partial index: NULLs are distinct in a plain unique index on both PostgreSQL and
# SQLite, so (order_id, supplier_id, case_id) would not stop a second original
ORIGINAL_ONLY = sa.text("case_id IS NULL")


class SupplierOrder(Base):
    """What one supplier ships of one order. One original per (order, supplier), and one
    reship per aftersales case (``case_id``), enforced here: placing the same order twice
    costs the merchant real money."""

    __tablename__ = "supplier_orders"
    __table_args__ = (
        sa.Index(
            "uq_supplier_orders_order_id_supplier_id",
            "order_id",
            "supplier_id",
            unique=True,
            postgresql_where=ORIGINAL_ONLY,
            sqlite_where=ORIGINAL_ONLY,
        ),
        sa.Index("ix_supplier_orders_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_supplier_orders_supplier_id_supplier_ref", "supplier_id", "supplier_ref"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    shop_id: Mapped[uuid.UUID]
    supplier_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    notice: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # a reship: the aftersales case it resolves (one per case) and the order it replaces
    case_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("supplier_orders.id"))
    placed_at: Mapped[dt.datetime | None]
    ship_by: Mapped[dt.date | None]
    shipped_at: Mapped[dt.datetime | None]
    deadline: Mapped[str] = mapped_column(sa.String(10), default="on_time")
    carrier: Mapped[str | None] = mapped_column(sa.String(100))
    tracking_numbers: Mapped[list[str] | None] = mapped_column(JSONType)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(40))
    # placement through the supplier's adapter (not portal suppliers)
    supplier_ref: Mapped[str | None] = mapped_column(sa.String(100))  # the supplier's own id
    place_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]  # None: nothing to send (or parked)
    # a call was made whose outcome we do not know: look the order up before sending again
    needs_lookup: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # lookups in a row that settled nothing (neither found nor surely not there): after
    # ``placement_max_unsettled_lookups`` the order needs an operator's attention
    unsettled_lookups: Mapped[int] = mapped_column(default=0, server_default="0")
    # claimed by the placement worker until then: a call may be out, nothing else may start
    leased_until: Mapped[dt.datetime | None]
    # cancelled here, but the supplier would not stop it: it ships, and is looked up like
    # an open order so that its tracking reaches us even if the supplier's webhook is lost
    cancel_refused: Mapped[bool] = mapped_column(default=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RateSlot(Base):
    """When an outside account's next call may go out: shared by every process calling
    it (gateway replicas), so together they keep to the account's limit (CJ: 1-6 calls
    per second per account)."""

    __tablename__ = "rate_slots"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    next_free: Mapped[dt.datetime]


class SupplierToken(Base):
    """A supplier API's access token, kept across restarts (CJ: valid 15 days, a new one
    only every 5 minutes). A secret, like the credentials it was made from."""

    __tablename__ = "supplier_tokens"

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    # the tokens and the openId (CJ's webhook signing key) are encrypted at rest
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    access_expires: Mapped[dt.datetime | None]
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_expires: Mapped[dt.datetime | None]
    open_id: Mapped[str | None] = mapped_column(EncryptedText)
    issued_at: Mapped[dt.datetime | None]
    account: Mapped[str | None] = mapped_column(sa.String(64))  # fingerprint of the API key
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CJMessage(Base):
    """A CJ webhook message, stored before it is answered and applied after the commit:
    ``pending`` (due at ``next_attempt_at``; retried while its order is not known
    yet), ``processed``, ``ignored`` (a documented type we do not use: products, stock),
    ``unhandled`` (a type we do not understand) or ``parked`` (never matched an order,
    or refused: for an operator)."""

    __tablename__ = "cj_messages"
    __table_args__ = (
        sa.UniqueConstraint("supplier_id", "message_id"),
        sa.Index("ix_cj_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("suppliers.id", ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(sa.String(100))  # CJ's messageId
    type: Mapped[str] = mapped_column(sa.String(40))
    message_type: Mapped[str | None] = mapped_column(sa.String(40))
    params: Mapped[Any] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(20))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    match_by: Mapped[dt.datetime | None]  # not matched to an order by then: parked
    supplier_order_id: Mapped[uuid.UUID | None]  # the order it was applied to
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]


class SupplierEmail(Base):
    """An e-mail to a supplier: a new portal supplier order (once per supplier order) or
    how an aftersales case about one was settled (once per case: ``case_id``)."""

    __tablename__ = "supplier_emails"
    __table_args__ = (
        sa.Index("ix_supplier_emails_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index(
            "uq_supplier_emails_supplier_order_id",
            "supplier_order_id",
            unique=True,
            postgresql_where=ORIGINAL_ONLY,
            sqlite_where=ORIGINAL_ONLY,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    supplier_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("supplier_orders.id", ondelete="CASCADE")
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    to_address: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")  # sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class SupplierOrderEvent(Base):
    """The supplier order's timeline."""

    __tablename__ = "supplier_order_events"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    supplier_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("supplier_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cause: Mapped[str | None] = mapped_column(sa.String(200))


class UnroutedLine(Base):
    """A line of a confirmed order that no active supplier is mapped to ship."""

    __tablename__ = "unrouted_lines"
    __table_args__ = (sa.UniqueConstraint("order_id", "line_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    shop_id: Mapped[uuid.UUID]
    line_id: Mapped[uuid.UUID]
    sku: Mapped[str | None] = mapped_column(sa.String(255))
    destination_country: Mapped[str | None] = mapped_column(sa.String(2))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConfirmedOrder(Base):
    """The ``order.confirmed`` payload as received: what a re-placement with a backup
    supplier builds its shipping notice from."""

    __tablename__ = "confirmed_orders"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    shop_id: Mapped[uuid.UUID]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PortalSession(Base):
    """A supplier's signed-in portal session. Only the SHA-256 of its random id is kept:
    the id itself lives in the browser's cookie and nowhere else."""

    __tablename__ = "portal_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("suppliers.id", ondelete="CASCADE"), index=True
    )
    key_id: Mapped[str] = mapped_column(sa.String(32))  # the api_keys row it was made from
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # absolute: created_at + portal_session_max_seconds
    revoked_at: Mapped[dt.datetime | None]  # signed out


class PortalLoginFailure(Base):
    """A failed portal sign-in, counted per bucket (``ip:<address>``, ``key:<key id>``)
    in a sliding window. In the database, so every gateway replica sees the same count."""

    __tablename__ = "portal_login_failures"
    __table_args__ = (sa.Index("ix_portal_login_failures_bucket_at", "bucket", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    bucket: Mapped[str] = mapped_column(sa.String(100))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Reship(Base):
    """An aftersales reship request, once per case whatever the deliveries: ``open``
    while its supplier order is being placed, then ``placed`` or ``failed`` (the outcome
    published once). ``goods_cost`` from the mappings, when they share one currency."""

    __tablename__ = "reships"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    supplier_order_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("supplier_orders.id", ondelete="CASCADE")
    )
    original_supplier_order_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(sa.String(10))  # open | placed | failed
    # the case's approval it carries out: a later one after a failure tries again
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    code: Mapped[str | None] = mapped_column(sa.String(20))  # why it failed
    message: Mapped[str | None] = mapped_column(sa.Text)
    goods_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 4))
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SupplierNotice(Base):
    """How an aftersales case about a supplier order was settled, told to its supplier
    once per case through its channel: ``portal`` (a line on the order's portal page, and
    an e-mail when the supplier has an address), ``http`` (``POST {url}/notices``,
    delivered by the notice worker: ``pending`` until ``sent`` or ``failed``) or
    ``operator`` (CJ has no API for it: an operator tells the supplier)."""

    __tablename__ = "supplier_notices"
    __table_args__ = (
        sa.Index("ix_supplier_notices_status_next_attempt_at", "status", "next_attempt_at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    supplier_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("supplier_orders.id", ondelete="CASCADE"), index=True
    )
    supplier_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("suppliers.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))  # portal | http | operator
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(12))  # shown|pending|sent|failed|for_operator
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]
    leased_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
