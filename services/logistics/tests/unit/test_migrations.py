"""Migration 0005 on an install with data (SQLite, embedded mode): 0004 opened a
return parcel per case and number; 0005 keeps each case's newest (the corrected
number) with its timeline, and every other parcel."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from dropship_common.migrate import upgrade_sync

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _parcel(db: sqlite3.Connection, number: str, created: str, case: str | None) -> str:
    pid = uuid.uuid4().hex
    db.execute(
        "INSERT INTO parcels (id, order_id, supplier_order_id, supplier_id, tracking_number,"
        " carrier_source, carrier_class, token, status, shipped_at, window_from, window_to,"
        " silent_route, notices, check_failures, cancelled, created_at, updated_at, case_id,"
        " return_parcel) VALUES (?, ?, ?, ?, ?, 'number', 'postal', ?, 'pending', ?,"
        " '2026-12-13', '2027-01-10', 0, '{}', 0, 0, ?, ?, ?, ?)",
        (pid, uuid.uuid4().hex, case or uuid.uuid4().hex, case or uuid.uuid4().hex, number,
         pid[:43], created, created, created, case, case is not None),
    )  # fmt: skip
    db.execute(
        "INSERT INTO parcel_events (parcel_id, kind, occurred_at, dedupe_key, cause,"
        " recorded_at) VALUES (?, 'opened', ?, ?, 'test', ?)",
        (pid, created, f"opened:{pid}", created),
    )
    return pid


def test_0005_keeps_each_cases_newest_return_and_every_other_parcel(tmp_path: Path) -> None:
    path = tmp_path / "logistics.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_sync(MIGRATIONS, url, "0004")
    case, other = uuid.uuid4().hex, uuid.uuid4().hex
    with sqlite3.connect(path) as db:
        own = _parcel(db, "RR123456785CN", "2026-12-01 10:00:00.000000", None)
        typo = _parcel(db, "RR123456758CN", "2026-12-02 10:00:00.000000", case)
        fixed = _parcel(db, "RR123456785CN", "2026-12-03 10:00:00.000000", case)
        alone = _parcel(db, "1Z5R89390357567127", "2026-12-02 10:00:00.000000", other)
        db.commit()

    upgrade_sync(MIGRATIONS, url, "head")
    with sqlite3.connect(path) as db:
        kept = {row[0] for row in db.execute("SELECT id FROM parcels")}
        timelines = {row[0] for row in db.execute("SELECT parcel_id FROM parcel_events")}
        assert kept == timelines == {own, fixed, alone}
        assert typo not in kept
        # the unique index holds from now on: a second return of the case is refused
        try:
            _parcel(db, "LX123456785CN", "2026-12-04 10:00:00.000000", case)
        except sqlite3.IntegrityError:
            pass
        else:
            raise AssertionError("a second return parcel of the case was stored")
