"""The event contracts: docs/events holds exactly what the code exports."""

import json
from pathlib import Path

from dropship_common.contracts import all_events, export_schemas
from dropship_common.contracts.order_intake import OrderConfirmed

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_docs_hold_the_current_schemas() -> None:
    exported = export_schemas()
    on_disk = {p.stem: json.loads(p.read_text()) for p in DOCS.glob("*.json")}
    assert on_disk == exported, "run `make contracts` and commit docs/events"


def test_every_event_has_a_dotted_routing_key_and_version() -> None:
    for event in all_events():
        aggregate, _, name = event.TYPE.partition(".")
        assert aggregate and name and event.VERSION >= 1


def test_order_confirmed_requires_what_a_supplier_needs() -> None:
    schema = export_schemas()["order.confirmed.v1"]
    assert {"order_id", "lines", "shipping_address", "ship_by"} <= set(schema["required"])
    assert OrderConfirmed.TYPE == "order.confirmed"
