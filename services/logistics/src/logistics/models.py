"""Tables of logistics. All SQL against them lives in the feature repositories.

Logistics keeps no buyer data beyond the destination's country, postal code and city
(the routing rules need them; a redaction removes even those)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dropship_common.db import NAMING_CONVENTION, JSONType, UTCDateTime, utcnow
from dropship_common.parked import add_parked_events_table
from dropship_common.secretbox import EncryptedText
from dropship_common.tables import add_common_tables


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSONType}


metadata = Base.metadata
common = add_common_tables(metadata)
parked_events = add_parked_events_table(metadata)


class Destination(Base):
    """Where an order's parcels go, as far as routing rules need it (from
    ``order.confirmed``); scrubbed by ``order.redacted``."""

    __tablename__ = "destinations"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    shop_id: Mapped[uuid.UUID]
    country: Mapped[str | None] = mapped_column(sa.String(2))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    city: Mapped[str | None] = mapped_column(sa.String(120))
    language: Mapped[str | None] = mapped_column(sa.String(10))  # the buyer's pages' language
    cancelled_at: Mapped[dt.datetime | None]
    redacted_at: Mapped[dt.datetime | None]


class TrackingAccount(Base):
    """A tracking provider account (17TRACK, AfterShip): for one shop, or the
    deployment's (``shop_id`` null). Credentials are encrypted and never read back."""

    __tablename__ = "tracking_accounts"
    __table_args__ = (
        sa.Index(
            "uq_tracking_accounts_default",
            "scope",
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(sa.String(20))  # 17track | aftership
    label: Mapped[str] = mapped_column(sa.String(200))
    shop_id: Mapped[uuid.UUID | None]
    scope: Mapped[str] = mapped_column(sa.String(36))  # the shop's id, or "*": every shop
    is_default: Mapped[bool] = mapped_column(default=False)
    api_key: Mapped[str] = mapped_column(EncryptedText)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText)
    quota_left: Mapped[int | None]
    quota_checked_at: Mapped[dt.datetime | None]
    problem: Mapped[str | None] = mapped_column(sa.String(200))  # quota / auth alert
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Parcel(Base):
    """One tracking number of one supplier order, followed until a final status."""

    __tablename__ = "parcels"
    __table_args__ = (
        sa.UniqueConstraint("supplier_order_id", "tracking_number"),
        sa.Index("ix_parcels_order_id", "order_id"),
        sa.Index("ix_parcels_tracking_number", "tracking_number"),
        sa.Index("ix_parcels_status", "status", "shop_id"),
        # the poll schedule and the rules sweep: only parcels still followed
        sa.Index(
            "ix_parcels_next_check_at",
            "next_check_at",
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
        ),
        # one account's due parcels (the poller's claim), whatever the other accounts
        sa.Index(
            "ix_parcels_account_due",
            "account_id",
            "next_check_at",
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
        ),
        sa.Index(
            "ix_parcels_review_at",
            "review_at",
            postgresql_where=sa.text("review_at IS NOT NULL"),
            sqlite_where=sa.text("review_at IS NOT NULL"),
        ),
        # one return parcel per aftersales case (a corrected number replaces it)
        sa.Index(
            "uq_parcels_return_case",
            "case_id",
            unique=True,
            postgresql_where=sa.text("return_parcel"),
            sqlite_where=sa.text("return_parcel"),
        ),
        sa.Index(
            "ix_parcels_registration",
            "account_id",
            postgresql_where=sa.text("registered_at IS NULL"),
            sqlite_where=sa.text("registered_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    # a buyer's return has no supplier order: its case's id stands in (a number of the
    # order's own parcels never collides with it in (supplier_order_id, tracking_number))
    supplier_order_id: Mapped[uuid.UUID]
    supplier_id: Mapped[uuid.UUID]
    case_id: Mapped[uuid.UUID | None]  # a reship's or a return's aftersales case
    return_parcel: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # a return under a number already followed (the carrier's return label): that
    # number's scans up to here are the earlier journey's, not the return's
    history_until: Mapped[dt.datetime | None]
    shop_id: Mapped[uuid.UUID | None]
    tracking_number: Mapped[str] = mapped_column(sa.String(40))
    carrier_given: Mapped[str | None] = mapped_column(sa.String(100))
    carrier: Mapped[str | None] = mapped_column(sa.String(40))  # our code
    carrier_source: Mapped[str] = mapped_column(sa.String(10))
    carrier_class: Mapped[str] = mapped_column(sa.String(10))
    supplier_tracking_url: Mapped[str | None] = mapped_column(sa.String(500))
    # the shipping notice's customs assessment, told to the buyer at customs
    duty_likely: Mapped[bool | None]
    customs_rule: Mapped[str | None] = mapped_column(sa.String(300))
    token: Mapped[str] = mapped_column(sa.String(43), unique=True)  # the buyer's page
    account_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("tracking_accounts.id"))
    registered_at: Mapped[dt.datetime | None]
    registration_error: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(24), default="pending")
    provider_status: Mapped[str | None] = mapped_column(sa.String(80))
    status_at: Mapped[dt.datetime | None]  # the scan that set the status
    last_scan_at: Mapped[dt.datetime | None]
    last_push_at: Mapped[dt.datetime | None]
    shipped_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]
    estimated_delivery: Mapped[dt.date | None]
    window_from: Mapped[dt.date]
    window_to: Mapped[dt.date]
    silent_route: Mapped[bool] = mapped_column(default=False)
    followed_up_at: Mapped[dt.datetime | None]
    stalled_at: Mapped[dt.datetime | None]  # since the last scan; cleared by a new one
    silent_route_told_at: Mapped[dt.datetime | None]
    presumed_lost_at: Mapped[dt.datetime | None]
    notices: Mapped[dict[str, Any]] = mapped_column(default=dict)  # buyer notices given
    next_check_at: Mapped[dt.datetime | None]  # next poll; null: no more polling
    check_failures: Mapped[int] = mapped_column(default=0)
    review_at: Mapped[dt.datetime | None]  # next rules review; null: nothing to watch
    cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ParcelEvent(Base):
    """A parcel's timeline: carrier scans (deduplicated by ``dedupe_key``), rule
    decisions and operator actions, each with its cause."""

    __tablename__ = "parcel_events"
    __table_args__ = (
        sa.UniqueConstraint("parcel_id", "dedupe_key"),
        sa.Index("ix_parcel_events_parcel_id", "parcel_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    parcel_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("parcels.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # scan | status | rule | operator
    occurred_at: Mapped[dt.datetime]
    status: Mapped[str | None] = mapped_column(sa.String(24))
    provider_status: Mapped[str | None] = mapped_column(sa.String(80))
    description: Mapped[str | None] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.String(200))
    dedupe_key: Mapped[str] = mapped_column(sa.String(64))
    cause: Mapped[str] = mapped_column(sa.String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TrackingPush(Base):
    """A provider's push, stored as received (verified) and applied after the commit."""

    __tablename__ = "tracking_pushes"
    __table_args__ = (
        sa.Index(
            "ix_tracking_pushes_pending",
            "received_at",
            postgresql_where=sa.text("processed_at IS NULL"),
            sqlite_where=sa.text("processed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tracking_accounts.id"))
    provider: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    error: Mapped[str | None] = mapped_column(sa.Text)


class SilentRoute(Base):
    """A route known to lose tracking after leaving China (postal air to IT, GB, FR,
    Central Asia, AU): silence there is no proof of loss. Editable."""

    __tablename__ = "silent_routes"

    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    carrier_class: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    note: Mapped[str | None] = mapped_column(sa.String(200))


class TransitTime(Base):
    """Expected transit days per carrier class and destination, per shop (``shop_key``
    is the shop's id, or ``*`` for every shop; ``country`` ``*`` for every country)."""

    __tablename__ = "transit_times"

    shop_key: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    carrier_class: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    min_days: Mapped[int]
    max_days: Mapped[int]


class ShopFollowUp(Base):
    """A shop's own follow-up numbers (DOMAIN.md's are the defaults)."""

    __tablename__ = "shop_follow_ups"

    shop_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    express_follow_up_days: Mapped[int] = mapped_column(default=7)
    postal_follow_up_days: Mapped[int] = mapped_column(default=30)
    lost_after_days: Mapped[int] = mapped_column(default=40)
    max_window_days: Mapped[int] = mapped_column(default=120)


class RateSlot(Base):
    """When a provider account's next call may go out, shared by every replica."""

    __tablename__ = "rate_slots"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    next_free: Mapped[dt.datetime]
