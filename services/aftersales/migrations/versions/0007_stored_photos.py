"""stored photos: every key written to the evidence store (orphans and redacted photos swept)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 02:43:43.154227
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_photos",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("stored_at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delete_after", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_photos")),
    )
    op.create_index(
        "ix_stored_photos_sweep",
        "stored_photos",
        ["stored_at"],
        unique=False,
        postgresql_where=sa.text("case_id IS NULL OR delete_after IS NOT NULL"),
        sqlite_where=sa.text("case_id IS NULL OR delete_after IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_stored_photos_sweep",
        table_name="stored_photos",
        postgresql_where=sa.text("case_id IS NULL OR delete_after IS NOT NULL"),
        sqlite_where=sa.text("case_id IS NULL OR delete_after IS NOT NULL"),
    )
    op.drop_table("stored_photos")
