"""Tables every service has in its own database: outbox, inbox and API keys.

Each service adds them to its metadata with :func:`add_common_tables`; its first
migration creates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dropship_common.db import JSONType, UTCDateTime

API_KEY_LABEL_LENGTH = 200


@dataclass(frozen=True)
class CommonTables:
    outbox: sa.Table
    inbox: sa.Table
    api_keys: sa.Table


def add_common_tables(metadata: sa.MetaData) -> CommonTables:
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=True, index=True),
        sa.Column("envelope", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
    api_keys = sa.Table(
        "api_keys",
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(100), nullable=True),
        sa.Column("label", sa.String(API_KEY_LABEL_LENGTH), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        # A replaced key's end of grace: it stops working then (revoked_at stays null).
        sa.Column("expires_at", UTCDateTime, nullable=True),
        # Refreshed at most once a minute, not on every request.
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        # An operator key limited to these shop ids (JSON list); null = every shop.
        sa.Column("shops", JSONType, nullable=True),
    )
    return CommonTables(outbox=outbox, inbox=inbox, api_keys=api_keys)
