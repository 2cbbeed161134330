"""`dropship tracking-account add`: a provider account in logistics' database from a
credentials file (embedded mode, SQLite files); the key stored encrypted, never shown;
a bad provider refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from .support import DROPSHIP, clean_env, run_cli

pytestmark = pytest.mark.system


def test_an_account_is_added_from_a_file_and_its_key_is_not_stored_in_clear(
    tmp_path: Path,
) -> None:
    env = clean_env(DROPSHIP_DATA_DIR=str(tmp_path / "data"))
    run_cli("migrate", env=env)
    secret = tmp_path / "17track.json"
    secret.write_text(json.dumps({"api_key": "17TRACK-SECRET-KEY-0123"}))
    account_id = run_cli(
        "tracking-account", "add", "--provider", "17track", "--label", "main",
        "--credentials-file", str(secret), env=env,
    ).strip()  # fmt: skip
    uuid.UUID(account_id)
    databases = list((tmp_path / "data").glob("logistics*.db"))
    assert databases, sorted(p.name for p in (tmp_path / "data").iterdir())
    with sqlite3.connect(databases[0]) as db:
        row = db.execute(
            "SELECT provider, label, scope, is_default, api_key FROM tracking_accounts"
        ).fetchone()
    assert row[:4] == ("17track", "main", "*", 1)
    assert "17TRACK-SECRET-KEY-0123" not in row[4]  # encrypted at rest

    refused = subprocess.run(
        [DROPSHIP, "tracking-account", "add", "--provider", "fedex", "--label", "x",
         "--credentials-file", str(secret)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "error" in refused.stderr
