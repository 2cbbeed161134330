"""Portal sessions (hashed ids) and failed portal sign-ins (rate limit)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_portal_sessions_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_portal_sessions")),
    )
    op.create_index(
        op.f("ix_portal_sessions_supplier_id"), "portal_sessions", ["supplier_id"], unique=False
    )
    op.create_table(
        "portal_login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_login_failures")),
    )
    op.create_index(
        "ix_portal_login_failures_bucket_at",
        "portal_login_failures",
        ["bucket", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_portal_login_failures_bucket_at", table_name="portal_login_failures")
    op.drop_table("portal_login_failures")
    op.drop_index(op.f("ix_portal_sessions_supplier_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
