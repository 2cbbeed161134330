"""Secrets at rest: columns encrypted with keys derived from ``DROPSHIP_SECRET_KEY``.

* A :class:`Keyring` holds one Fernet key per configured secret (HKDF-SHA256 of the
  secret, so any string is a usable secret): the current one (``DROPSHIP_SECRET_KEY``)
  encrypts, and it and the previous ones (``DROPSHIP_PREVIOUS_SECRET_KEYS``) decrypt
  (cryptography's ``MultiFernet``). That is what makes rotation possible.
* :class:`EncryptedText` / :class:`EncryptedJSON` are column types: models declare them
  and read/write plain values; the database only ever holds ``enc1:<fernet token>``.
  A value without the prefix (written before the encrypting migration) is read as it
  is; the migration and ``dropship secrets rotate`` encrypt such leftovers.
* Embedded mode without ``DROPSHIP_SECRET_KEY`` uses a key generated on first run into
  ``<data dir>/secret.key`` (mode 0600). Distributed mode refuses to start without one.

The process keyring is installed from the settings at start (:func:`install`); code
that runs without an app (the CLI, a bare ``alembic`` run) gets one built from the
environment on first use.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from dropship_common.settings import DEV_SECRET, Settings

__all__ = [
    "ENC_PREFIX",
    "KEY_FILE_NAME",
    "EncryptedJSON",
    "EncryptedText",
    "Keyring",
    "SecretKeyError",
    "SecretUnreadable",
    "install",
    "keyring",
    "keyring_for",
]

ENC_PREFIX = "enc1:"
KEY_FILE_NAME = "secret.key"
_HKDF_INFO = b"dropship:secrets-at-rest:v1"


class SecretKeyError(RuntimeError):
    """No usable secret key (distributed mode without one, a key file others can read)."""


class SecretUnreadable(RuntimeError):
    """A stored secret that none of the configured keys decrypts (a key was dropped
    before ``dropship secrets rotate`` moved every value to the current one)."""


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


@dataclass(frozen=True)
class Keyring:
    """The current key (first; encrypts) and the previous ones (decrypt only)."""

    current: Fernet
    all: MultiFernet
    # signs the links we send buyers (tracking pages): one key for every service
    link_key: bytes = b""

    @classmethod
    def from_secrets(cls, current: str, previous: list[str] | tuple[str, ...] = ()) -> Keyring:
        if not current:
            raise SecretKeyError("an empty secret key")
        first = _fernet(current)
        link_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"dropship:buyer-links:v1"
        ).derive(current.encode())
        return cls(first, MultiFernet([first, *(_fernet(p) for p in previous if p)]), link_key)

    def encrypt(self, plaintext: str) -> str:
        return ENC_PREFIX + self.current.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The plaintext of a stored value; one without the prefix is a plaintext left
        from before encryption and is returned as it is."""
        if not stored.startswith(ENC_PREFIX):
            return stored
        try:
            return self.all.decrypt(stored[len(ENC_PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret is not readable with the configured keys "
                "(DROPSHIP_SECRET_KEY, DROPSHIP_PREVIOUS_SECRET_KEYS)"
            ) from None

    def reencrypt(self, stored: str) -> str | None:
        """The value under the current key, or None when it already is (so a rerun of a
        rotation changes nothing). Plaintext leftovers are encrypted."""
        if not stored.startswith(ENC_PREFIX):
            return self.encrypt(stored)
        token = stored[len(ENC_PREFIX) :].encode()
        try:
            self.current.decrypt(token)
        except InvalidToken:
            pass
        else:
            return None
        try:
            return ENC_PREFIX + self.all.rotate(token).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret is not readable with the configured keys"
            ) from None


# --------------------------------------------------------------------------------------
# the key from the settings
# --------------------------------------------------------------------------------------


def _read_key_file(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if os.name == "posix" and mode & 0o077:
        raise SecretKeyError(f"{path} is readable by others (mode {mode:o}): chmod 600 it")
    value = path.read_text().strip()
    if not value:
        raise SecretKeyError(f"{path} is empty")
    return value


def embedded_key(data_dir: Path) -> str:
    """The embedded mode's key: ``<data_dir>/secret.key``, generated (mode 0600) on the
    first run. Written to a temporary file and linked into place, so two processes
    starting together agree on one key and none reads a half-written file."""
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return _read_key_file(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{KEY_FILE_NAME}.{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key_file(path)


def keyring_for(settings: Settings) -> Keyring:
    """The keyring the settings describe (see the module docstring)."""
    previous = list(settings.previous_secret_keys)
    if settings.secret_key != DEV_SECRET:
        return Keyring.from_secrets(settings.secret_key, previous)
    if settings.mode != "embedded":
        raise SecretKeyError("DROPSHIP_SECRET_KEY must be set in distributed mode")
    return Keyring.from_secrets(embedded_key(settings.data_dir), previous)


_installed: Keyring | None = None


def install(ring: Keyring) -> None:
    """Make ``ring`` the process keyring (the app's start, the CLI, tests)."""
    global _installed
    _installed = ring


def keyring() -> Keyring:
    """The process keyring; built from the environment's settings if none was installed."""
    global _installed
    if _installed is None:
        _installed = keyring_for(Settings())
    return _installed


# --------------------------------------------------------------------------------------
# column types
# --------------------------------------------------------------------------------------


class EncryptedText(TypeDecorator[str]):
    """A string column stored encrypted (``enc1:`` + a Fernet token, in a TEXT column)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring().decrypt(str(value))


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (dict, list, …) stored encrypted; ``None`` is SQL NULL."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode())

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return orjson.loads(keyring().decrypt(str(value)))


def encrypted_columns(metadata: sa.MetaData) -> list[tuple[sa.Table, sa.Column[Any]]]:
    """Every encrypted column of a service's tables (what a rotation goes through)."""
    return [
        (table, column)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText | EncryptedJSON)
    ]


# --------------------------------------------------------------------------------------
# rewriting stored values (migrations, rotation)
# --------------------------------------------------------------------------------------


def recode_rows(
    connection: sa.Connection,
    table: str,
    key: dict[str, sa.types.TypeEngine[Any]],
    columns: list[str],
    recode: Callable[[str], str | None],
) -> int:
    """Rewrite the raw stored values of ``columns`` in ``table`` (primary key ``key``:
    name -> type) with ``recode`` (None: leave the value). Returns the rows changed.
    Runs inside the caller's transaction, so a failure leaves every row as it was."""
    t = sa.table(
        table,
        *(sa.column(name, type_) for name, type_ in key.items()),
        *(sa.column(name, sa.Text()) for name in columns),
    )
    rows = connection.execute(sa.select(t)).mappings().all()
    changed = 0
    for row in rows:
        updates = {}
        for name in columns:
            raw = row[name]
            if raw is None:
                continue
            new = recode(str(raw))
            if new is not None and new != raw:
                updates[name] = new
        if updates:
            connection.execute(
                sa.update(t).where(*(t.c[k] == row[k] for k in key)).values(**updates)
            )
            changed += 1
    return changed


def rotate_metadata(connection: sa.Connection, metadata: sa.MetaData, ring: Keyring) -> int:
    """Re-encrypt every encrypted column of a service's tables under ``ring``'s current
    key (plaintext leftovers included); values already under it are left alone, so a
    rerun changes nothing. A table the database does not have yet (a service not
    migrated, or migrated before the table existed) holds no secret: skipped. Returns
    the rows changed."""
    existing = set(sa.inspect(connection).get_table_names())
    by_table: dict[str, list[str]] = {}
    for table, column in encrypted_columns(metadata):
        by_table.setdefault(table.name, []).append(column.name)
    changed = 0
    for name, columns in by_table.items():
        if name not in existing:
            continue
        table = metadata.tables[name]
        key = {c.name: c.type for c in table.primary_key.columns}
        changed += recode_rows(connection, name, key, columns, ring.reencrypt)
    return changed


def decrypt_for_downgrade(ring: Keyring) -> Callable[[str], str | None]:
    """A :func:`recode_rows` function giving back the plaintext (a migration's downgrade)."""
    return lambda raw: ring.decrypt(raw) if raw.startswith(ENC_PREFIX) else None
