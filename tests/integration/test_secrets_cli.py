"""`dropship migrate` in embedded mode makes the key file on the first run, and
`dropship secrets rotate` moves every stored secret to a new key (SQLite files)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dropship_cli.main import app
from dropship_common import secretbox
from dropship_common.secretbox import ENC_PREFIX, Keyring

pytestmark = pytest.mark.integration

NEW_KEY = "rotated-secret-key-0123456789-abcdefghijkl"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An embedded install in tmp_path with no DROPSHIP_SECRET_KEY; the process keyring
    (which the CLI replaces) is put back afterwards."""
    for name in ("DROPSHIP_SECRET_KEY", "DROPSHIP_PREVIOUS_SECRET_KEYS", "DROPSHIP_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DROPSHIP_DATA_DIR", str(tmp_path / "data"))
    before = secretbox.keyring()
    yield tmp_path / "data"
    secretbox.install(before)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _raw_secrets(data: Path) -> str:
    with sqlite3.connect(data / "order_intake.db") as db:
        (raw,) = db.execute("SELECT webhook_secrets FROM shops").fetchone()
    return str(raw)


def test_first_run_key_then_rotation_to_a_new_key(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli("migrate", "-s", "order-intake", "-s", "supplier-gateway")
    key_file = env / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    _cli(
        "shop",
        "add",
        "--platform",
        "woocommerce",
        "--domain",
        "shop.example.com",
        "--webhook-secret",
        "whsec_cli_secret",
    )
    before = _raw_secrets(env)
    assert before.startswith(ENC_PREFIX) and "whsec_cli_secret" not in before

    # the new key current, the generated one still accepted; rotate, twice
    monkeypatch.setenv("DROPSHIP_SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("DROPSHIP_PREVIOUS_SECRET_KEYS", f'["{key_file.read_text().strip()}"]')
    assert "order-intake: 1 rows re-encrypted" in _cli("secrets", "rotate")
    assert "order-intake: 0 rows re-encrypted" in _cli("secrets", "rotate")
    after = _raw_secrets(env)
    assert after != before
    assert Keyring.from_secrets(NEW_KEY).decrypt(after) == '["whsec_cli_secret"]'


def test_rotate_without_the_old_key_changes_nothing(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli("migrate", "-s", "order-intake")
    _cli(
        "shop",
        "add",
        "--platform",
        "woocommerce",
        "--domain",
        "shop.example.com",
        "--webhook-secret",
        "whsec_cli_secret",
    )
    before = _raw_secrets(env)
    monkeypatch.setenv("DROPSHIP_SECRET_KEY", NEW_KEY)  # the old key forgotten
    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert result.exit_code == 1
    assert "not readable with the configured keys" in result.output
    assert _raw_secrets(env) == before
