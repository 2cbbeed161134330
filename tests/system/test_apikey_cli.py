"""`dropship apikey create / list / revoke`: the CLI as a real process (embedded mode,
SQLite files), the key in every service's database (issue 11 §4, §7)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .support import DROPSHIP, clean_env, run_cli

pytestmark = pytest.mark.system


def _rows(listing: str, key_id: str) -> list[list[str]]:
    return [line.split("\t") for line in listing.splitlines() if line.split("\t")[1] == key_id]


def test_a_key_is_created_listed_and_revoked_on_every_service(tmp_path: Path) -> None:
    env = clean_env(DROPSHIP_DATA_DIR=str(tmp_path / "data"))
    run_cli("migrate", env=env)
    key = run_cli(
        "apikey", "create", "--role", "operator", "--label", "agency",
        "--shop", "shop-a", "--shop", "shop-b",
        env=env,
    )  # fmt: skip
    key_id = key.split("_")[1]

    rows = _rows(run_cli("apikey", "list", env=env), key_id)
    assert {r[0] for r in rows} == {"order-intake", "supplier-gateway", "logistics", "aftersales"}
    for r in rows:
        assert r[2:5] == ["operator", "agency", "shop-a,shop-b"]
        assert r[6] == "last_used=-" and r[8] == "revoked=-"
    assert key not in run_cli("apikey", "list", env=env)  # never the plaintext

    assert "revoked" in run_cli("apikey", "revoke", key_id, env=env)
    for r in _rows(run_cli("apikey", "list", env=env), key_id):
        assert r[8].startswith("revoked=") and r[8] != "revoked=-"

    unknown = subprocess.run(
        [DROPSHIP, "apikey", "revoke", "nosuchkey"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 1 and "no API key nosuchkey" in unknown.stderr
    refused = subprocess.run(
        [DROPSHIP, "apikey", "create", "--role", "admin", "--shop", "x"], env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
