"""ledger, order parcels and the buyer's e-mail digest

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 22:48:27.758135
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dropship_common.db
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_shop_created", "cases", ["shop_id", "created_at"])
    op.create_index("ix_cases_status_created", "cases", ["status", "created_at"])
    op.create_table(
        "ledger",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("borne_by", sa.String(length=10), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("at", dropship_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
        sa.UniqueConstraint(
            "order_id", "kind", "reference", name=op.f("uq_ledger_order_id_kind_reference")
        ),
    )
    op.create_index(op.f("ix_ledger_case_id"), "ledger", ["case_id"], unique=False)
    op.create_index(op.f("ix_ledger_order_id"), "ledger", ["order_id"], unique=False)
    op.add_column(
        "cases",
        sa.Column(
            "return_info",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )
    op.add_column("cases", sa.Column("supplier_order_id", sa.Uuid(), nullable=True))
    op.add_column("order_copies", sa.Column("email_digest", sa.String(length=64), nullable=True))
    op.add_column(
        "order_copies",
        sa.Column(
            "parcels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default="[]",
        ),
    )
    op.add_column(
        "order_copies",
        sa.Column(
            "supplier_orders",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default="[]",
        ),
    )
    op.add_column(
        "order_copies",
        sa.Column("delivered_at", dropship_common.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_status_created", table_name="cases")
    op.drop_index("ix_cases_shop_created", table_name="cases")
    op.drop_index("ix_cases_created_at", table_name="cases")
    op.drop_column("order_copies", "delivered_at")
    op.drop_column("order_copies", "supplier_orders")
    op.drop_column("order_copies", "parcels")
    op.drop_column("order_copies", "email_digest")
    op.drop_column("cases", "supplier_order_id")
    op.drop_column("cases", "return_info")
    op.drop_index(op.f("ix_ledger_order_id"), table_name="ledger")
    op.drop_index(op.f("ix_ledger_case_id"), table_name="ledger")
    op.drop_table("ledger")
