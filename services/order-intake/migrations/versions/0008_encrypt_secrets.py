"""secrets at rest: the shops' webhook secrets and admin credentials encrypted

The columns become TEXT holding ``enc1:<Fernet token>`` (dropship_common.secretbox);
the values already stored are encrypted under the current DROPSHIP_SECRET_KEY (or the
embedded mode's key file).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from dropship_common.db import JSONType
from dropship_common.migration_helpers import SecretColumn, decrypt_columns, encrypt_columns

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = {"id": sa.Uuid()}
COLUMNS = [
    SecretColumn("webhook_secrets", JSONType, nullable=False, pg_plain_cast="jsonb"),
    SecretColumn("admin_credentials", JSONType, nullable=True, pg_plain_cast="jsonb"),
]


def upgrade() -> None:
    encrypt_columns("shops", KEY, COLUMNS)


def downgrade() -> None:
    decrypt_columns("shops", KEY, COLUMNS)
