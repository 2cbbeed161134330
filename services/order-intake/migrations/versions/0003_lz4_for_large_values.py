"""large values compressed with lz4 (webhook bodies, outbox envelopes)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:20:00
"""

from collections.abc import Sequence

from dropship_common.migration_helpers import compress_with_default, compress_with_lz4

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [("webhook_deliveries", "body"), ("outbox", "envelope")]


def upgrade() -> None:
    compress_with_lz4(COLUMNS)


def downgrade() -> None:
    compress_with_default(COLUMNS)
