"""Migrations on an install with data (SQLite, embedded mode): 0004 keeps every row and
marks the cancellations a supplier refused before it existed; 0011 keeps them and lets
a case's reship stand beside its original (one original per order and supplier)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from dropship_common.migrate import upgrade_sync

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
NOW = "2026-12-01 10:00:00.000000"


def _seed(db: sqlite3.Connection) -> tuple[str, str]:
    """A supplier, two cancelled supplier orders (one the supplier refused to stop, one
    it stopped), their timelines and a supplier e-mail, as 0003 stored them."""
    supplier, refused, stopped = (uuid.uuid4().hex for _ in range(3))
    db.execute(
        "INSERT INTO suppliers (id, name, adapter, handling_days, holiday_country,"
        " ship_from_country, active, created_at, updated_at)"
        " VALUES (?, 'CJ', 'cjdropshipping', 2, 'CN', 'CN', 1, ?, ?)",
        (supplier, NOW, NOW),
    )
    for so, outcome in ((refused, "too_late"), (stopped, "cancelled")):
        db.execute(
            "INSERT INTO supplier_orders (id, order_id, shop_id, supplier_id, status, notice,"
            " deadline, created_at, updated_at) VALUES (?, ?, ?, ?, 'cancelled', '{}',"
            " 'on_time', ?, ?)",
            (so, uuid.uuid4().hex, uuid.uuid4().hex, supplier, NOW, NOW),
        )
        for kind, details in (("placement_attempt", {}), ("supplier_cancel", {"outcome": outcome})):
            db.execute(
                "INSERT INTO supplier_order_events (supplier_order_id, at, kind, details)"
                " VALUES (?, ?, ?, ?)",
                (so, NOW, kind, json.dumps(details)),
            )
    db.execute(
        "INSERT INTO supplier_emails (id, supplier_order_id, to_address, subject, body, status,"
        " next_attempt_at, created_at) VALUES (?, ?, 'ops@supplier.example', 's', 'b', 'sent',"
        " ?, ?)",
        (uuid.uuid4().hex, refused, NOW, NOW),
    )
    db.commit()
    return refused, stopped


def test_0004_keeps_every_row_and_marks_earlier_refusals(tmp_path: Path) -> None:
    path = tmp_path / "supplier-gateway.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_sync(MIGRATIONS, url, "0003")
    with sqlite3.connect(path) as db:
        refused, stopped = _seed(db)

    upgrade_sync(MIGRATIONS, url, "head")

    with sqlite3.connect(path) as db:
        counts = [
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("supplier_orders", "supplier_order_events", "supplier_emails")
        ]
        assert counts == [2, 4, 1]  # a table copy with foreign keys on deleted them all
        rows = dict(
            (r[0], (r[1], r[2] is not None, r[3]))
            for r in db.execute(
                "SELECT id, cancel_refused, next_attempt_at, leased_until FROM supplier_orders"
            )
        )
    assert rows == {refused: (1, True, None), stopped: (0, False, None)}


def _supplier_order(db: sqlite3.Connection, order: str, supplier: str, case: str | None) -> None:
    db.execute(
        "INSERT INTO supplier_orders (id, order_id, shop_id, supplier_id, status, notice,"
        " deadline, created_at, updated_at, case_id) VALUES (?, ?, ?, ?, 'pending', '{}',"
        " 'on_time', ?, ?, ?)",
        (uuid.uuid4().hex, order, uuid.uuid4().hex, supplier, NOW, NOW, case),
    )


def test_0011_keeps_rows_and_allows_one_original_and_one_reship_per_case(tmp_path: Path) -> None:
    path = tmp_path / "supplier-gateway.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_sync(MIGRATIONS, url, "0010")
    with sqlite3.connect(path) as db:
        refused, _ = _seed(db)

    upgrade_sync(MIGRATIONS, url, "head")

    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        counts = [
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("supplier_orders", "supplier_order_events", "supplier_emails")
        ]
        assert counts == [2, 4, 1]
        order, supplier = db.execute(
            "SELECT order_id, supplier_id FROM supplier_orders WHERE id = ?", (refused,)
        ).fetchone()
        case = uuid.uuid4().hex
        _supplier_order(db, order, supplier, case)  # a reship beside the original: fine
        _supplier_order(db, order, supplier, uuid.uuid4().hex)  # another case's: fine
        for again in (None, case):  # a second original; a second reship of the case
            with pytest.raises(sqlite3.IntegrityError):
                _supplier_order(db, order, supplier, again)
        # a case's notice e-mail beside the order's own; a second one of the case refused
        insert = (
            "INSERT INTO supplier_emails (id, supplier_order_id, case_id, to_address, subject,"
            " body, status, next_attempt_at, created_at) VALUES (?, ?, ?, 'a@b.example', 's',"
            " 'b', 'pending', ?, ?)"
        )
        db.execute(insert, (uuid.uuid4().hex, refused, case, NOW, NOW))
        for again in (None, case):
            with pytest.raises(sqlite3.IntegrityError):
                db.execute(insert, (uuid.uuid4().hex, refused, again, NOW, NOW))
