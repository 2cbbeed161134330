"""return parcels: one per case; a reused number's earlier journey

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:51:26.561684
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "parcels",
        sa.Column("history_until", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
    )
    # 0004 opened one per case and number: a case's newest stays (corrected numbers)
    op.execute(
        sa.text(
            "DELETE FROM parcel_events WHERE parcel_id IN (SELECT id FROM parcels WHERE"
            " return_parcel AND EXISTS (SELECT 1 FROM parcels AS p WHERE p.return_parcel"
            " AND p.case_id = parcels.case_id AND (p.created_at > parcels.created_at OR"
            " (p.created_at = parcels.created_at AND p.id > parcels.id))))"
        )
    )
    op.execute(
        sa.text(
            "DELETE FROM parcels WHERE return_parcel AND EXISTS (SELECT 1 FROM parcels AS p"
            " WHERE p.return_parcel AND p.case_id = parcels.case_id AND (p.created_at >"
            " parcels.created_at OR (p.created_at = parcels.created_at AND p.id > parcels.id)))"
        )
    )
    op.create_index(
        "uq_parcels_return_case",
        "parcels",
        ["case_id"],
        unique=True,
        postgresql_where=sa.text("return_parcel"),
        sqlite_where=sa.text("return_parcel"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_parcels_return_case",
        table_name="parcels",
        postgresql_where=sa.text("return_parcel"),
        sqlite_where=sa.text("return_parcel"),
    )
    op.drop_column("parcels", "history_until")
