"""secrets at rest: supplier credentials and API tokens encrypted

The columns become TEXT holding ``enc1:<Fernet token>`` (dropship_common.secretbox);
the values already stored are encrypted under the current DROPSHIP_SECRET_KEY (or the
embedded mode's key file).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from dropship_common.db import JSONType
from dropship_common.migration_helpers import SecretColumn, decrypt_columns, encrypt_columns

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUPPLIERS = [SecretColumn("credentials", JSONType, nullable=True, pg_plain_cast="jsonb")]
TOKENS = [
    SecretColumn("access_token", sa.String(200), nullable=True, pg_plain_cast="varchar(200)"),
    SecretColumn("refresh_token", sa.String(200), nullable=True, pg_plain_cast="varchar(200)"),
    SecretColumn("open_id", sa.String(40), nullable=True, pg_plain_cast="varchar(40)"),
]


def upgrade() -> None:
    encrypt_columns("suppliers", {"id": sa.Uuid()}, SUPPLIERS)
    encrypt_columns("supplier_tokens", {"supplier_id": sa.Uuid()}, TOKENS)


def downgrade() -> None:
    decrypt_columns("supplier_tokens", {"supplier_id": sa.Uuid()}, TOKENS)
    decrypt_columns("suppliers", {"id": sa.Uuid()}, SUPPLIERS)
