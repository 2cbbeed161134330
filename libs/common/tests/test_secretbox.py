"""Secrets at rest: encryption, rotation between keys, the embedded key file, and the
column types (raw values read back with plain SQL)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common import secretbox
from dropship_common.secretbox import (
    ENC_PREFIX,
    EncryptedJSON,
    EncryptedText,
    Keyring,
    SecretKeyError,
    SecretUnreadable,
    keyring_for,
)
from dropship_common.settings import Settings

OLD = "old-secret-key-0123456789abcdefghijklmnop"
NEW = "new-secret-key-0123456789abcdefghijklmnop"


@pytest.fixture
def installed() -> Iterator[None]:
    """Whatever a test installs, the process keyring is the one it found afterwards."""
    before = secretbox.keyring()
    yield
    secretbox.install(before)


def test_a_value_is_stored_encrypted_and_read_back() -> None:
    ring = Keyring.from_secrets(OLD)
    stored = ring.encrypt("shpat_secret_token")
    assert stored.startswith(ENC_PREFIX)
    assert "shpat_secret_token" not in stored
    assert ring.decrypt(stored) == "shpat_secret_token"
    assert ring.encrypt("x") != ring.encrypt("x")  # random IV: equal secrets look different


def test_previous_keys_decrypt_and_the_current_one_encrypts() -> None:
    stored_old = Keyring.from_secrets(OLD).encrypt("token-1")
    both = Keyring.from_secrets(NEW, [OLD])
    assert both.decrypt(stored_old) == "token-1"
    stored_new = both.encrypt("token-2")
    assert Keyring.from_secrets(NEW).decrypt(stored_new) == "token-2"
    with pytest.raises(SecretUnreadable):
        Keyring.from_secrets(OLD).decrypt(stored_new)
    with pytest.raises(SecretUnreadable):  # the old key dropped before a rotation
        Keyring.from_secrets(NEW).decrypt(stored_old)


def test_reencrypt_moves_a_value_to_the_current_key_once() -> None:
    stored_old = Keyring.from_secrets(OLD).encrypt("token-1")
    both = Keyring.from_secrets(NEW, [OLD])
    moved = both.reencrypt(stored_old)
    assert moved is not None
    assert Keyring.from_secrets(NEW).decrypt(moved) == "token-1"
    assert both.reencrypt(moved) is None  # already under the current key: left alone
    leftover = both.reencrypt("plaintext-from-before")  # written before encryption
    assert leftover is not None and both.decrypt(leftover) == "plaintext-from-before"


def test_distributed_mode_needs_a_long_secret_key() -> None:
    with pytest.raises(ValueError, match="DROPSHIP_SECRET_KEY must be set"):
        Settings(mode="distributed", bus_url="amqp://x/")
    with pytest.raises(ValueError, match="DROPSHIP_SECRET_KEY must be at least 32"):
        Settings(mode="distributed", bus_url="amqp://x/", secret_key="short-secret")
    unset = Settings(mode="embedded").model_copy(update={"mode": "distributed"})
    with pytest.raises(SecretKeyError, match="DROPSHIP_SECRET_KEY must be set"):
        keyring_for(unset)


def test_embedded_mode_generates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = Settings(mode="embedded", data_dir=tmp_path / "data")
    ring = keyring_for(settings)
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    stored = ring.encrypt("s")
    assert keyring_for(settings).decrypt(stored) == "s"  # the same key on the next run
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no temp left


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("k" * 40)
    os.chmod(key_file, 0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        keyring_for(Settings(mode="embedded", data_dir=tmp_path))


def test_a_set_secret_key_wins_over_the_key_file(tmp_path: Path) -> None:
    settings = Settings(mode="embedded", data_dir=tmp_path, secret_key=NEW)
    stored = keyring_for(settings).encrypt("s")
    assert Keyring.from_secrets(NEW).decrypt(stored) == "s"
    assert not (tmp_path / "secret.key").exists()


def _table() -> tuple[sa.MetaData, sa.Table]:
    metadata = sa.MetaData()
    table = sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", EncryptedText, nullable=True),
        sa.Column("creds", EncryptedJSON, nullable=True),
    )
    return metadata, table


def test_columns_hold_ciphertext_and_rotate(installed: None) -> None:
    metadata, table = _table()
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    creds: dict[str, Any] = {"consumer_key": "ck_123", "consumer_secret": "cs_456"}
    secretbox.install(Keyring.from_secrets(OLD))
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "token": "tok-1", "creds": creds}])
        conn.execute(table.insert(), [{"id": 2, "token": None, "creds": None}])
        raw = conn.execute(sa.text("SELECT token, creds FROM t WHERE id = 1")).one()
        assert raw.token.startswith(ENC_PREFIX) and "tok-1" not in raw.token
        assert raw.creds.startswith(ENC_PREFIX) and "ck_123" not in raw.creds
        assert conn.execute(sa.text("SELECT token, creds FROM t WHERE id = 2")).one() == (
            None,
            None,
        )

    # rotation: the new key current, the old one still accepted, then every row moved
    secretbox.install(Keyring.from_secrets(NEW, [OLD]))
    with engine.begin() as conn:
        assert conn.execute(sa.select(table.c.token, table.c.creds)).first() == ("tok-1", creds)
        assert secretbox.rotate_metadata(conn, metadata, secretbox.keyring()) == 1
        assert secretbox.rotate_metadata(conn, metadata, secretbox.keyring()) == 0  # rerun

    secretbox.install(Keyring.from_secrets(NEW))  # the old key dropped
    with engine.begin() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.token, table.c.creds)).all()
    assert rows == [(1, "tok-1", creds), (2, None, None)]
