"""reships and supplier notices: a supplier order may be an aftersales case's reship

``supplier_orders`` gains ``case_id`` (unique: one reship per case) and ``replaces_id``
(the original it replaces); the one-per-(order, supplier) rule becomes a partial unique
index over originals only (``case_id IS NULL``), which PostgreSQL and SQLite both
enforce (a plain unique index over the three columns would not: NULLs are distinct).
``supplier_emails`` the same way: one new-order e-mail per supplier order, one notice
e-mail per case. ``reships`` holds each case's request and outcome (once per case),
``supplier_notices`` what each supplier was told of a settled case.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 23:14:55.599145
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dropship_common.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORIGINAL_ONLY = sa.text("case_id IS NULL")
WHEN = dropship_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reships",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_order_id", sa.Uuid(), nullable=True),
        sa.Column("original_supplier_order_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("goods_cost", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_order_id"],
            ["supplier_orders.id"],
            name=op.f("fk_reships_supplier_order_id_supplier_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_reships")),
    )
    op.create_index(op.f("ix_reships_order_id"), "reships", ["order_id"], unique=False)
    op.create_table(
        "supplier_notices",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_order_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=True),
        sa.Column("leased_until", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_notices_supplier_id_suppliers"),
        ),
        sa.ForeignKeyConstraint(
            ["supplier_order_id"],
            ["supplier_orders.id"],
            name=op.f("fk_supplier_notices_supplier_order_id_supplier_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_supplier_notices")),
    )
    op.create_index(
        "ix_supplier_notices_status_next_attempt_at",
        "supplier_notices",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_supplier_notices_supplier_order_id"),
        "supplier_notices",
        ["supplier_order_id"],
        unique=False,
    )
    # SQLite alters a constraint by copying the table (batch); PostgreSQL in place
    with op.batch_alter_table("supplier_emails") as batch:
        batch.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch.drop_constraint("uq_supplier_emails_supplier_order_id", type_="unique")
        batch.create_unique_constraint("uq_supplier_emails_case_id", ["case_id"])
    op.create_index(
        "uq_supplier_emails_supplier_order_id",
        "supplier_emails",
        ["supplier_order_id"],
        unique=True,
        postgresql_where=ORIGINAL_ONLY,
        sqlite_where=ORIGINAL_ONLY,
    )
    with op.batch_alter_table("supplier_orders") as batch:
        batch.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("replaces_id", sa.Uuid(), nullable=True))
        batch.drop_constraint("uq_supplier_orders_order_id_supplier_id", type_="unique")
        batch.create_unique_constraint("uq_supplier_orders_case_id", ["case_id"])
        batch.create_foreign_key(
            "fk_supplier_orders_replaces_id_supplier_orders",
            "supplier_orders",
            ["replaces_id"],
            ["id"],
        )
    op.create_index(
        "uq_supplier_orders_order_id_supplier_id",
        "supplier_orders",
        ["order_id", "supplier_id"],
        unique=True,
        postgresql_where=ORIGINAL_ONLY,
        sqlite_where=ORIGINAL_ONLY,
    )


def downgrade() -> None:
    """Reships are removed first: the old rule allows one supplier order per (order,
    supplier) only."""
    op.drop_table("supplier_notices")
    op.drop_table("reships")
    op.execute("DELETE FROM supplier_emails WHERE case_id IS NOT NULL")
    op.execute(
        "DELETE FROM supplier_order_events WHERE supplier_order_id IN"
        " (SELECT id FROM supplier_orders WHERE case_id IS NOT NULL)"
    )
    op.execute(
        "DELETE FROM supplier_emails WHERE supplier_order_id IN"
        " (SELECT id FROM supplier_orders WHERE case_id IS NOT NULL)"
    )
    op.execute("DELETE FROM supplier_orders WHERE case_id IS NOT NULL")
    op.drop_index("uq_supplier_orders_order_id_supplier_id", table_name="supplier_orders")
    with op.batch_alter_table("supplier_orders") as batch:
        batch.drop_constraint("fk_supplier_orders_replaces_id_supplier_orders", type_="foreignkey")
        batch.drop_constraint("uq_supplier_orders_case_id", type_="unique")
        batch.create_unique_constraint(
            "uq_supplier_orders_order_id_supplier_id", ["order_id", "supplier_id"]
        )
        batch.drop_column("replaces_id")
        batch.drop_column("case_id")
    op.drop_index("uq_supplier_emails_supplier_order_id", table_name="supplier_emails")
    with op.batch_alter_table("supplier_emails") as batch:
        batch.drop_constraint("uq_supplier_emails_case_id", type_="unique")
        batch.create_unique_constraint(
            "uq_supplier_emails_supplier_order_id", ["supplier_order_id"]
        )
        batch.drop_column("case_id")
