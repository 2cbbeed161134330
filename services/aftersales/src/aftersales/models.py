"""Tables of aftersales. All SQL against them lives in the feature repositories.

aftersales keeps the copy of each order it needs to value a case (currency, lines,
prices: no name, no address), scrubbed of the buyer's words on redaction."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dropship_common.db import NAMING_CONVENTION, JSONType, UTCDateTime, utcnow
from dropship_common.failure_limit import add_failures_table
from dropship_common.parked import add_parked_events_table
from dropship_common.tables import add_common_tables


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        Decimal: sa.Numeric(14, 4),
    }


metadata = Base.metadata
common = add_common_tables(metadata)
parked_events = add_parked_events_table(metadata)
# the buyer page's failed "order number + e-mail" look-ups, shared by every replica
help_lookup_failures = add_failures_table(metadata, "help_lookup_failures")


class OrderCopy(Base):
    """What a case needs of an order (from ``order.confirmed``)."""

    __tablename__ = "order_copies"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    shop_id: Mapped[uuid.UUID] = mapped_column(index=True)
    number: Mapped[str | None] = mapped_column(sa.String(64))
    currency: Mapped[str] = mapped_column(sa.String(3))
    total: Mapped[Decimal]
    lines: Mapped[list[Any]]  # [{line_id, sku, title, quantity, unit_price}]
    language: Mapped[str] = mapped_column(sa.String(10))
    redacted_at: Mapped[dt.datetime | None]
    # an HMAC of the buyer's e-mail (lower case) under the link key: the buyer's page
    # checks "order number + e-mail" without aftersales holding the address
    email_digest: Mapped[str | None] = mapped_column(sa.String(64))
    # what logistics said of each parcel: [{parcel_id, supplier_order_id,
    # tracking_number, status, window_to, delivered_at}]
    parcels: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # supplier-gateway's placements: [{supplier_order_id, supplier_id, goods_cost,
    # currency}], for a reship's cost
    supplier_orders: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    delivered_at: Mapped[dt.datetime | None]


class Policy(Base):
    """A shop's policy, versioned: the newest version applies to new proposals."""

    __tablename__ = "policies"
    __table_args__ = (sa.UniqueConstraint("shop_key", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shop_key: Mapped[str] = mapped_column(sa.String(36))  # the shop's id, or "*"
    version: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(120))


class Case(Base):
    """One problem of an order, with its proposal and its guarded lifecycle."""

    __tablename__ = "cases"
    __table_args__ = (
        # one case per problem: a rule opening the same case twice opens nothing
        sa.UniqueConstraint("order_id", "type", "source_key"),
        sa.Index("ix_cases_status_shop", "status", "shop_id"),
        # the agents' listings, newest first: all, by shop, by status
        sa.Index("ix_cases_created_at", "created_at"),
        sa.Index("ix_cases_shop_created", "shop_id", "created_at"),
        sa.Index("ix_cases_status_created", "status", "created_at"),
        sa.Index(
            "ix_cases_due_by",
            "due_by",
            postgresql_where=sa.text("due_by IS NOT NULL"),
            sqlite_where=sa.text("due_by IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    shop_id: Mapped[uuid.UUID | None]
    type: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20))
    source_key: Mapped[str] = mapped_column(sa.String(80))  # parcel id, request id …
    opened_by: Mapped[str] = mapped_column(sa.String(120))
    currency: Mapped[str] = mapped_column(sa.String(3))
    claimed_value: Mapped[Decimal]
    lines: Mapped[list[Any]]
    buyer_words: Mapped[str | None] = mapped_column(sa.Text)
    evidence: Mapped[list[Any]]
    proposal: Mapped[dict[str, Any] | None]
    policy_version: Mapped[int | None]
    assignee: Mapped[str | None] = mapped_column(sa.String(120))
    # the return (RMA number, address, the buyer's tracking, received) or exchange
    return_info: Mapped[dict[str, Any] | None]
    # what the buyer is asked to pay first (a dearer exchange): amount, link, paid
    payment_info: Mapped[dict[str, Any] | None]
    supplier_order_id: Mapped[uuid.UUID | None]  # the supplier order concerned, if known
    status_since: Mapped[dt.datetime]
    due_by: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseEvent(Base):
    """A case's timeline: who, why, when, caused by which message or request."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None]
    actor: Mapped[str] = mapped_column(sa.String(120))
    cause: Mapped[str] = mapped_column(sa.String(120))


class LedgerEntry(Base):
    """Money and goods a case (or the storefront's admin) moved: what each resolution
    cost and who bears it. A refund is first ``reserved`` (approved, not yet made: it
    counts against what is refundable, so two approvals cannot both pay) and becomes
    ``done`` with the storefront's id; an admin's own refund is ``done`` at once. One
    row per (order, kind, reference): a refund reported twice counts once."""

    __tablename__ = "ledger"
    __table_args__ = (sa.UniqueConstraint("order_id", "kind", "reference"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # refund, discount, reship, return
    state: Mapped[str] = mapped_column(sa.String(10))  # reserved, done, released
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    borne_by: Mapped[str | None] = mapped_column(sa.String(10))  # supplier, merchant, carrier
    source: Mapped[str] = mapped_column(sa.String(20))  # aftersales, storefront_admin
    # the storefront's refund / discount id, the reship's supplier order, or case:<id>
    reference: Mapped[str] = mapped_column(sa.String(120))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StoredPhoto(Base):
    """Every photo key written to the evidence store, recorded (committed) *before* the
    photo is stored: one whose case never committed (a process that died in between)
    stays without a case and is deleted by the sweeper after a while; a photo whose order
    was redacted is deleted at ``delete_after``."""

    __tablename__ = "stored_photos"
    __table_args__ = (
        sa.Index(
            "ix_stored_photos_sweep",
            "stored_at",
            postgresql_where=sa.text("case_id IS NULL OR delete_after IS NOT NULL"),
            sqlite_where=sa.text("case_id IS NULL OR delete_after IS NOT NULL"),
        ),
    )

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    case_id: Mapped[uuid.UUID | None]  # set in the transaction that writes the case
    stored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delete_after: Mapped[dt.datetime | None]  # redacted: gone from the store at the sweep
