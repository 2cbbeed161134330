"""The event contracts: docs/events holds exactly what the code exports."""

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

import orjson

from dropship_common.contracts import all_events, export_schemas
from dropship_common.contracts.order_intake import OrderConfirmed
from dropship_common.contracts.supplier_gateway import ShipmentTrackingAssigned
from dropship_common.messaging.envelope import Envelope

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_docs_hold_the_current_schemas() -> None:
    exported = export_schemas()
    on_disk = {p.stem: json.loads(p.read_text()) for p in DOCS.glob("*.v*.json")}
    assert on_disk == exported, "run `make contracts` and commit docs/events"


def test_every_event_has_a_dotted_routing_key_and_version() -> None:
    for event in all_events():
        aggregate, _, name = event.TYPE.partition(".")
        assert aggregate and name and event.VERSION >= 1


def test_order_confirmed_requires_what_a_supplier_needs() -> None:
    schema = export_schemas()["order.confirmed.v1"]
    assert {"order_id", "lines", "shipping_address", "ship_by"} <= set(schema["required"])
    assert OrderConfirmed.TYPE == "order.confirmed"


def test_envelope_json_is_what_pydantic_would_write() -> None:
    """``to_dict``/``to_json`` skip pydantic's dump for speed: same document, and a
    hand-made payload with non-JSON values still serialises."""
    env = Envelope(
        type="order.confirmed",
        correlation_id="o-1",
        causation_id=None,
        payload={"total": "409.94", "lines": [{"sku": "A", "qty": 2}], "note": None},
    )
    assert orjson.loads(env.to_json()) == env.model_dump(mode="json") | {
        "occurred_at": env.occurred_at.isoformat()
    }
    assert Envelope.from_json(env.to_json()) == env
    odd = Envelope(
        type="x.y",
        payload={
            "amount": Decimal("1.10"),
            "id": uuid.UUID(int=1),
            "at": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        },
    )
    assert orjson.loads(Envelope(type="x.y", payload={"by_day": {3: 1}}).to_json())["payload"] == {
        "by_day": {"3": 1}
    }  # as model_dump would have written it
    assert orjson.loads(odd.to_json())["payload"] == {
        "amount": "1.10",
        "id": "00000000-0000-0000-0000-000000000001",
        "at": "2026-01-02T00:00:00+00:00",
    }


def test_tracking_urls_are_optional() -> None:
    old = {
        "order_id": str(uuid.uuid4()),
        "supplier_order_id": str(uuid.uuid4()),
        "supplier_id": str(uuid.uuid4()),
        "line_ids": [],
        "carrier": "CJPacket",
        "tracking_numbers": ["RR123456785CN"],
        "shipped_at": "2026-12-01T09:30:00Z",
    }
    assert ShipmentTrackingAssigned.model_validate(old).tracking_urls == {}  # additive
