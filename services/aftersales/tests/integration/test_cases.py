"""Cases opened by rule from logistics' events (real PostgreSQL + RabbitMQ), proposed
by the shop's policy, approved once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from aftersales.main import SPEC
from aftersales.models import Case, Policy, common
from dropship_common.contracts.logistics import ShipmentPresumedLost, ShipmentStatusChanged
from dropship_common.contracts.order_intake import (
    AddressV1,
    BuyerV1,
    OrderConfirmed,
    OrderLineV1,
)
from dropship_common.messaging.envelope import Envelope
from dropship_testkit.tap import eventually

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
D34 = Decimal("34")


def order() -> OrderConfirmed:
    return OrderConfirmed(
        order_id=uuid.uuid4(), shop_id=uuid.uuid4(), platform="shopify", external_id="1",
        number="#1", currency="EUR", total_price=Decimal("44.00"), shipping_method=None,
        buyer=BuyerV1(name="Lena", email="lena@example.com", phone=None, language="en"),
        shipping_address=AddressV1(name="Lena", line1="Street 1", city="Berlin",
                                   postal_code="10117", country_code="DE"),
        lines=[OrderLineV1(line_id=uuid.uuid4(), sku="MUG", title="Mug", quantity=2,
                           unit_price=Decimal("17.00"))],
        note=None, note_attributes=[], confirmed_at=NOW, ship_by=NOW.date(),
    )  # fmt: skip


def parcel(o: OrderConfirmed, pid: uuid.UUID) -> dict[str, Any]:
    return {
        "parcel_id": pid, "order_id": o.order_id, "supplier_order_id": uuid.uuid4(),
        "shop_id": o.shop_id, "tracking_number": "RR123456785CN", "carrier": "chinapost",
        "carrier_name": "China Post", "status": "in_transit", "tracking_page": "/track/x",
        "window_from": NOW.date(), "window_to": NOW.date(),
    }  # fmt: skip


async def publish(svc: Any, event: Any) -> Envelope:
    envelope: Envelope = event.envelope(correlation_id=str(event.order_id))
    await svc.runtime.bus.publish([envelope])
    return envelope


async def processed(svc: Any, envelope: Envelope) -> None:
    inbox = common.inbox

    async def probe() -> bool:
        async with svc.runtime.db.sessions() as s:
            found = await s.scalar(
                sa.select(sa.func.count()).select_from(inbox)
                .where(inbox.c.message_id == uuid.UUID(str(envelope.id)))
            )  # fmt: skip
        return bool(found)

    await eventually(probe)


async def test_a_lost_parcel_opens_one_case_proposed_by_policy_and_approved_once(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    async with svc.runtime.db.transaction() as s:
        s.add(Policy(shop_key=str(o.shop_id), version=1, created_by="test",
                     body={"operator_approval_limit": {"EUR": "20"}}))  # fmt: skip
    await processed(svc, await publish(svc, o))
    pid = uuid.uuid4()
    lost = ShipmentPresumedLost(**parcel(o, pid), last_scan_at=None, silent_days=40,
                                detected_at=NOW)  # fmt: skip
    await processed(svc, await publish(svc, lost))
    await processed(svc, await publish(svc, lost))  # reported twice: one case
    other = ShipmentStatusChanged(
        **{**parcel(o, uuid.uuid4()), "status": "in_customs"}, previous_status="in_transit",
        occurred_at=NOW, description=None, location=None, buyer_notice="customs",
    )  # fmt: skip
    await processed(svc, await publish(svc, other))  # not a case

    h = svc.admin_headers
    r = await svc.client.get(f"/v1/cases?shop_id={o.shop_id}", headers=h)
    [case] = r.json()["cases"]
    assert (case["type"], case["status"], case["currency"]) == ("lost", "proposed", "EUR")
    assert Decimal(case["claimed_value"]) == Decimal("34")  # 2 x 17.00, a decimal as text
    proposal = case["proposal"]
    assert proposal["resolution"] == "refund" and Decimal(proposal["amount"]) == Decimal("34")
    assert proposal["approver"] == "admin"  # above the operator's limit of EUR 20
    assert any("operator's limit" in rule for rule in proposal["rules"])

    r = await svc.client.post(
        "/v1/admin/api-keys", headers=h,
        json={"role": "operator", "label": "agent", "shops": [str(o.shop_id)]},
    )  # fmt: skip
    operator = {"authorization": f"Bearer {r.json()['key']}"}
    r = await svc.client.post(f"/v1/cases/{case['id']}/approve", headers=operator)
    assert r.status_code == 403

    # two admins at the same moment: one approval
    answers = await asyncio.gather(
        *(svc.client.post(f"/v1/cases/{case['id']}/approve", headers=h) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    r = await svc.client.get(f"/v1/cases/{case['id']}", headers=h)
    body = r.json()
    assert body["status"] == "resolving"  # the refund is asked of order-intake
    kinds = [(e["kind"], e["to_status"]) for e in body["timeline"]]
    assert kinds == [
        ("opened", "open"), ("status", "proposed"), ("status", "approved"),
        ("status", "resolving"),
    ]  # fmt: skip
    # the refund is reserved in the ledger, with who bears it (a lost parcel: the carrier)
    [entry] = body["ledger"]
    assert (entry["kind"], entry["state"], entry["borne_by"]) == ("refund", "reserved", "carrier")
    assert Decimal(entry["amount"]) == D34
    [refund] = await tap.wait_for("aftersales.refund_requested")
    assert refund.payload["case_id"] == case["id"]  # the idempotency key
    assert (Decimal(refund.payload["amount"]), refund.payload["currency"]) == (D34, "EUR")
    async with svc.runtime.db.sessions() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


async def test_an_agent_opens_a_case_and_works_it_and_a_draft_policy_is_dry_run(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    h = svc.admin_headers
    o = order()
    await processed(svc, await publish(svc, o))
    shop = str(o.shop_id)

    r = await svc.client.put(f"/v1/policies/{shop}", headers=h, json={"damage_report_days": 7})
    assert (r.status_code, r.json()["version"]) == (200, 1)
    r = await svc.client.put(
        f"/v1/policies/{shop}", headers=h,
        json={"delay_compensation_percent": "10", "auto_approve_under": {"EUR": "1"}},
    )  # fmt: skip
    assert r.json()["version"] == 2
    r = await svc.client.put(f"/v1/policies/{shop}", headers=h, json={"refund_limit": 5})
    assert r.status_code == 422  # not a field of the policy
    r = await svc.client.get(f"/v1/policies/{shop}", headers=h)
    assert r.json()["version"] == 2 and r.json()["policy"]["damage_report_days"] == 14

    r = await svc.client.post(
        "/v1/cases", headers=h,
        json={"order_id": str(o.order_id), "type": "delayed", "buyer_words": "so late"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["proposal"]["resolution"] == "compensation"
    assert Decimal(case["proposal"]["amount"]) == Decimal("3.40")  # 10 % of 34.00
    assert case["policy_version"] == 2 and case["opened_by"] == "admin-token"
    url = f"/v1/cases/{case['id']}"

    r = await svc.client.post(f"{url}/assign", headers=h, json={"assignee": "ana"})
    assert r.json()["assignee"] == "ana"
    r = await svc.client.post(f"{url}/notes", headers=h, json={"note": "called the buyer"})
    assert r.status_code == 200
    r = await svc.client.post(
        f"{url}/request-evidence", headers=h, json={"what": ["photo"], "reason": "show it"}
    )
    assert r.json()["status"] == "awaiting_buyer"
    r = await svc.client.post(f"{url}/propose", headers=h, json={})
    assert r.json()["status"] == "proposed"
    r = await svc.client.post(
        f"{url}/propose", headers=h, json={"resolution": "refund", "amount": "999"}
    )
    assert r.status_code == 422  # more than the order's total
    r = await svc.client.get("/v1/cases?assignee=ana&type=delayed", headers=h)
    assert [c["id"] for c in r.json()["cases"]] == [case["id"]]

    # a draft with twice the compensation: the dry run says what would change
    r = await svc.client.post(
        f"/v1/policies/{shop}/dry-run", headers=h, json={"delay_compensation_percent": "20"}
    )
    run = r.json()
    assert (run["cases"], run["changed"]) == (1, 1)
    assert Decimal(run["results"][0]["would_be"]["amount"]) == Decimal("6.80")
    assert run["refunds_total"] == {"EUR": "6.80"}

    r = await svc.client.post(f"{url}/reject", headers=h, json={"reason": "out of policy"})
    assert r.json()["status"] == "rejected"
    r = await svc.client.post(f"{url}/reject", headers=h, json={"reason": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = await svc.client.get(url, headers=h)
    kinds = [e["kind"] for e in r.json()["timeline"]]
    assert kinds == [
        "opened", "status", "assigned", "note", "status", "status", "status",
    ]  # fmt: skip


async def test_a_cancellation_or_address_change_too_late_opens_a_case_once(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    from dropship_common.contracts.order_intake import AddressV1 as Address
    from dropship_common.contracts.supplier_gateway import (
        SupplierAddressChangeAnswered,
        SupplierCancellationAnswered,
    )

    svc = await start_service(SPEC)
    o = order()
    await processed(svc, await publish(svc, o))
    shipped, stopped = uuid.uuid4(), uuid.uuid4()
    answer = SupplierCancellationAnswered(
        order_id=o.order_id, cancelled=[stopped], already_shipped=[shipped], answered_at=NOW
    )
    await processed(svc, await publish(svc, answer))
    await processed(svc, await publish(svc, answer))
    late = SupplierAddressChangeAnswered(
        order_id=o.order_id, applied=[], too_late=[shipped], answered_at=NOW,
        shipping_address=Address(name="L", line1="New 2", city="Bonn", postal_code="53111",
                                 country_code="DE"),
    )  # fmt: skip
    await processed(svc, await publish(svc, late))
    r = await svc.client.get(f"/v1/cases?shop_id={o.shop_id}", headers=svc.admin_headers)
    found = {c["type"]: c for c in r.json()["cases"]}
    assert sorted(found) == ["address_change_after_handoff", "cancellation_after_handoff"]
    cancel = found["cancellation_after_handoff"]
    assert cancel["proposal"]["resolution"] == "return_then_refund"
    assert cancel["opened_by"] == "rule:supplier-gateway"
    assert found["address_change_after_handoff"]["proposal"]["resolution"] == "explain"
