"""Small helpers the services' Alembic migrations share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from dropship_common import secretbox


def compress_with_lz4(columns: Iterable[tuple[str, str]]) -> bool:
    """Store these ``(table, column)`` values compressed with lz4 instead of PostgreSQL's
    default pglz where the server supports it (PostgreSQL 14+ built with lz4; SQLite and
    older servers keep their default). A 6 KB webhook body is compressed in a fraction
    of pglz's time, which shortens the commit every webhook answer waits for. Returns
    whether it was applied."""
    if op.get_context().dialect.name != "postgresql":
        return False
    if context.is_offline_mode():  # a script for a DBA: assumes a server with lz4
        supported = True
    else:
        supported = op.get_bind().scalar(
            sa.text(
                "SELECT count(*) FROM pg_settings "
                "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
            )
        )
    if not supported:
        return False
    for table, column in columns:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')
    return True


def compress_with_default(columns: Iterable[tuple[str, str]]) -> None:
    """Undo :func:`compress_with_lz4` (values already written stay as they are)."""
    if op.get_context().dialect.name != "postgresql":
        return
    for table, column in columns:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION DEFAULT')


@dataclass(frozen=True)
class SecretColumn:
    """A column that becomes encrypted TEXT: its type before, whether it is nullable,
    and the PostgreSQL cast back to that type (a downgrade)."""

    name: str
    plain_type: sa.types.TypeEngine[Any]
    nullable: bool
    pg_plain_cast: str


def _retype(table: str, columns: Iterable[SecretColumn], *, encrypted: bool) -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        for c in columns:
            old, new = (c.plain_type, sa.Text()) if encrypted else (sa.Text(), c.plain_type)
            cast = "text" if encrypted else c.pg_plain_cast
            op.alter_column(
                table,
                c.name,
                existing_type=old,
                type_=new,
                existing_nullable=c.nullable,
                postgresql_using=f'"{c.name}"::{cast}',
            )
        return
    with op.batch_alter_table(table) as batch:
        for c in columns:
            old, new = (c.plain_type, sa.Text()) if encrypted else (sa.Text(), c.plain_type)
            batch.alter_column(c.name, existing_type=old, type_=new, existing_nullable=c.nullable)


def encrypt_columns(
    table: str, key: dict[str, sa.types.TypeEngine[Any]], columns: list[SecretColumn]
) -> int:
    """Make ``columns`` TEXT and encrypt the values they hold under the current secret key
    (the process keyring: see :mod:`dropship_common.secretbox`). Returns the rows changed."""
    if context.is_offline_mode():
        raise RuntimeError(
            "encrypting the stored secrets needs the database and the secret key: "
            "run this migration online (dropship migrate)"
        )
    _retype(table, columns, encrypted=True)
    return secretbox.recode_rows(
        op.get_bind(), table, key, [c.name for c in columns], secretbox.keyring().reencrypt
    )


def decrypt_columns(
    table: str, key: dict[str, sa.types.TypeEngine[Any]], columns: list[SecretColumn]
) -> None:
    """Undo :func:`encrypt_columns`: the plaintext back, in the columns' earlier types."""
    if context.is_offline_mode():
        raise RuntimeError("decrypting the stored secrets needs the database: run it online")
    ring = secretbox.keyring()
    secretbox.recode_rows(
        op.get_bind(), table, key, [c.name for c in columns], secretbox.decrypt_for_downgrade(ring)
    )
    _retype(table, columns, encrypted=False)
