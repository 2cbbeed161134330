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
from aftersales.models import Case, OrderCopy, Policy, common
from dropship_common.contracts.logistics import (
    ShipmentPresumedLost,
    ShipmentStalled,
    ShipmentStatusChanged,
)
from dropship_common.contracts.order_intake import (
    AddressV1,
    BuyerV1,
    OrderConfirmed,
    OrderDiscountCreated,
    OrderLineV1,
    OrderRefundFailed,
    OrderRefundRecorded,
    OrderReturnRequested,
    RefundLineV1,
)
from dropship_common.contracts.supplier_gateway import (
    ShipmentTrackingAssigned,
    SupplierOrderPlaced,
    SupplierReshipPlaced,
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


# -- resolutions and their outcomes ---------------------------------------------------


async def _case(svc: Any, o: OrderConfirmed, type_: str, **extra: Any) -> dict[str, Any]:
    r = await svc.client.post(
        "/v1/cases", headers=svc.admin_headers,
        json={"order_id": str(o.order_id), "type": type_, **extra},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _policy(svc: Any, o: OrderConfirmed, **body: Any) -> None:
    r = await svc.client.put(f"/v1/policies/{o.shop_id}", headers=svc.admin_headers, json=body)
    assert r.status_code == 200, r.text


async def _get(svc: Any, case_id: str) -> dict[str, Any]:
    r = await svc.client.get(f"/v1/cases/{case_id}", headers=svc.admin_headers)
    return dict(r.json())


async def test_a_refund_is_resolved_by_its_outcome_and_an_admin_refund_counts_once(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await processed(svc, await publish(svc, o))
    case = await _case(svc, o, "lost")  # the default policy: refund 34.00, an admin approves
    r = await svc.client.post(f"/v1/cases/{case['id']}/approve", headers=svc.admin_headers)
    assert r.json()["status"] == "resolving"
    done = OrderRefundRecorded(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case["id"]),
        source="aftersales", storefront_refund_id="gid://shopify/Refund/1", amount=D34,
        currency="EUR", refunded_total=D34, refunded_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, done))
    # the storefront's refunds/create webhook reports the same refund again: counted once
    again = done.model_copy(update={"source": "storefront_admin", "case_id": None})
    await processed(svc, await publish(svc, again))
    body = await _get(svc, case["id"])
    assert body["status"] == "resolved"
    assert [(e["kind"], e["state"], Decimal(e["amount"])) for e in body["ledger"]] == [
        ("refund", "done", D34)
    ]
    [notice] = await tap.wait_for("aftersales.buyer_notice", kind="refund_sent")
    assert notice.payload["details"] == {"amount": "34", "currency": "EUR"}
    assert notice.payload["case_page"].startswith("/cases/")

    # an admin's own refund of 10.00 on the storefront leaves 0.00 for a new case of 34
    admin = OrderRefundRecorded(
        order_id=o.order_id, shop_id=o.shop_id, case_id=None, source="storefront_admin",
        storefront_refund_id="gid://shopify/Refund/2", amount=Decimal("10"), currency="EUR",
        refunded_total=Decimal("44"), refunded_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, admin))
    late = await _case(svc, o, "delayed")
    assert Decimal(late["proposal"]["amount"]) == Decimal("0")
    assert any("still refundable" in rule for rule in late["proposal"]["rules"])


async def test_two_cases_approved_at_once_cannot_both_spend_the_refundable_money(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    o = order()  # 44.00 paid, two cases of 34.00 each
    await processed(svc, await publish(svc, o))
    first, second = await _case(svc, o, "lost"), await _case(svc, o, "returned_to_sender")
    answers = await asyncio.gather(
        *(svc.client.post(f"/v1/cases/{c['id']}/approve", headers=svc.admin_headers)
          for c in (first, second))
    )  # fmt: skip
    assert sorted(a.status_code for a in answers) == [200, 409]
    [refused] = [a for a in answers if a.status_code == 409]
    assert refused.json()["error"]["code"] == "not_refundable"
    statuses = sorted([(await _get(svc, c["id"]))["status"] for c in (first, second)])
    assert statuses == ["proposed", "resolving"]  # the refused one waits for an agent


async def test_a_failed_refund_goes_back_to_an_agent_and_frees_the_money(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await processed(svc, await publish(svc, o))
    case = await _case(svc, o, "lost")
    await svc.client.post(f"/v1/cases/{case['id']}/approve", headers=svc.admin_headers)
    failed = OrderRefundFailed(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case["id"]),
        code="gateway_declined", message="card expired", refundable=D34, failed_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, failed))
    body = await _get(svc, case["id"])
    assert body["status"] == "proposed"
    assert "gateway_declined" in body["timeline"][-1]["reason"]
    assert [e["state"] for e in body["ledger"]] == ["released"]
    # approved again: the released money is reserved again and asked for once more, as
    # the case's second attempt (a new try for order-intake, not a duplicate)
    r = await svc.client.post(f"/v1/cases/{case['id']}/approve", headers=svc.admin_headers)
    assert r.status_code == 200, r.text
    again = await _get(svc, case["id"])
    assert again["status"] == "resolving"
    assert [(e["kind"], e["state"]) for e in again["ledger"]] == [("refund", "reserved")]
    first, second = await tap.wait_for("aftersales.refund_requested", count=2)
    assert (first.payload["attempt"], second.payload["attempt"]) == (1, 2)


async def test_a_lost_parcel_is_reshipped_when_cheaper_and_the_supplier_and_buyer_hear(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, postage_estimate={"EUR": "6"}, auto_approve_under={"EUR": "50"})
    await processed(svc, await publish(svc, o))
    supplier_order = uuid.uuid4()
    placed = SupplierOrderPlaced(
        order_id=o.order_id, supplier_order_id=supplier_order, supplier_id=uuid.uuid4(),
        placed_at=NOW, goods_cost=Decimal("12.00"), currency="EUR",
    )  # fmt: skip
    await processed(svc, await publish(svc, placed))
    pid = uuid.uuid4()
    lost = ShipmentPresumedLost(**{**parcel(o, pid), "supplier_order_id": supplier_order},
                                last_scan_at=None, silent_days=40, detected_at=NOW)  # fmt: skip
    await processed(svc, await publish(svc, lost))

    # 12.00 of goods + 6.00 of postage < 34.00 of refund: reship, auto-approved (< 50)
    [reship] = await tap.wait_for("aftersales.reship_requested")
    assert reship.payload["original_supplier_order_id"] == str(supplier_order)
    assert [line["quantity"] for line in reship.payload["lines"]] == [2]
    [told] = await tap.wait_for("aftersales.supplier_notice")
    assert (told.payload["resolution"], told.payload["borne_by"]) == ("reship", "carrier")
    assert Decimal(told.payload["cost"]) == Decimal("18.00")
    case_id = uuid.UUID(reship.payload["case_id"])
    assert (await _get(svc, str(case_id)))["status"] == "resolving"

    new_order = uuid.uuid4()
    ok = SupplierReshipPlaced(
        case_id=case_id, order_id=o.order_id, supplier_order_id=new_order,
        original_supplier_order_id=supplier_order, supplier_id=uuid.uuid4(), placed_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, ok))
    await processed(svc, await publish(svc, ok))
    body = await _get(svc, str(case_id))
    assert body["status"] == "resolved"
    assert [(e["kind"], e["state"], e["reference"]) for e in body["ledger"]] == [
        ("reship", "done", f"supplier-order:{new_order}")
    ]
    shipped = ShipmentTrackingAssigned(
        order_id=o.order_id, supplier_order_id=new_order, supplier_id=uuid.uuid4(),
        line_ids=[], carrier="Yun Express", tracking_numbers=["YT2412345678901234"],
        shipped_at=NOW, case_id=case_id,
    )  # fmt: skip
    await processed(svc, await publish(svc, shipped))
    [notice] = await tap.wait_for("aftersales.buyer_notice", kind="replacement_shipped")
    assert notice.payload["details"]["tracking_number"] == "YT2412345678901234"
    kinds = {e.payload["kind"] for e in tap.of_type("aftersales.buyer_notice")}
    assert {"case_received", "approved", "replacement_shipped"} <= kinds


async def test_a_return_is_refunded_when_it_arrives_and_a_wrong_size_is_exchanged(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, return_address="Returns, Hafenstr. 1, Hamburg", evidence={})
    await processed(svc, await publish(svc, o))
    h = svc.admin_headers
    damaged = await _case(svc, o, "damaged")
    assert damaged["proposal"]["resolution"] == "return_then_refund"
    r = await svc.client.post(f"/v1/cases/{damaged['id']}/approve", headers=h)
    assert r.json()["return_info"]["address"] == "Returns, Hafenstr. 1, Hamburg"
    [rma] = await tap.wait_for("aftersales.buyer_notice", kind="return_instructions")
    assert rma.payload["details"]["rma"] == r.json()["return_info"]["rma"]
    assert not tap.of_type("aftersales.refund_requested")  # not before the goods are back
    r = await svc.client.post(
        f"/v1/cases/{damaged['id']}/return-tracking", headers=h,
        json={"tracking_number": "lx 123456785 de", "carrier": "DHL"},
    )  # fmt: skip
    assert r.json()["return_info"]["tracking_number"] == "LX123456785DE"
    r = await svc.client.post(f"/v1/cases/{damaged['id']}/return-received", headers=h)
    assert r.status_code == 200
    r = await svc.client.post(f"/v1/cases/{damaged['id']}/return-received", headers=h)
    assert r.status_code == 409  # once
    [refund] = await tap.wait_for("aftersales.refund_requested")
    assert Decimal(refund.payload["amount"]) == D34

    line = str(o.lines[0].line_id)
    size = await _case(svc, o, "wrong_size", buyer_words="too small")
    assert size["proposal"]["resolution"] == "exchange"
    r = await svc.client.post(f"/v1/cases/{size['id']}/approve", headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "exchange_sku_missing")
    r = await svc.client.post(
        f"/v1/cases/{size['id']}/propose", headers=h,
        json={"resolution": "exchange", "exchange_skus": {line: "MUG-XL"}, "reason": "size",
              "price_difference": "-4.00"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    await svc.client.post(f"/v1/cases/{size['id']}/approve", headers=h)
    [swap] = await tap.wait_for("aftersales.reship_requested")
    assert swap.payload["lines"] == [{"line_id": line, "quantity": 2, "sku": "MUG-XL"}]
    # the cheaper variant: the difference goes back to the buyer
    [_, difference] = await tap.wait_for("aftersales.refund_requested", count=2)
    assert (difference.payload["case_id"], Decimal(difference.payload["amount"])) == (
        size["id"], Decimal("4.00")
    )  # fmt: skip


async def test_a_compensation_under_the_limit_is_a_discount_code_at_once(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, compensation_as="discount_code", auto_approve_under={"EUR": "5"})
    await processed(svc, await publish(svc, o))
    case = await _case(svc, o, "delayed")
    assert case["status"] == "resolving"  # 3.40 < 5.00: approved by the policy
    [asked] = await tap.wait_for("aftersales.discount_requested")
    assert Decimal(asked.payload["amount"]) == Decimal("3.40")
    created = OrderDiscountCreated(
        order_id=o.order_id, shop_id=o.shop_id, case_id=uuid.UUID(case["id"]),
        code="SORRY-ABC123", storefront_discount_id="gid://shopify/DiscountCodeNode/9",
        amount=Decimal("3.40"), currency="EUR", ends_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, created))
    assert (await _get(svc, case["id"]))["status"] == "resolved"
    [notice] = await tap.wait_for("aftersales.buyer_notice", kind="discount_code")
    assert notice.payload["details"]["code"] == "SORRY-ABC123"


async def test_a_storefront_return_and_a_parcel_stuck_at_customs_open_cases(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    o = order()
    await processed(svc, await publish(svc, o))
    asked = OrderReturnRequested(
        order_id=o.order_id, shop_id=o.shop_id, storefront_return_id="gid://shopify/Return/5",
        reason="SIZE_TOO_SMALL", buyer_note="a size up please",
        lines=[RefundLineV1(line_id=o.lines[0].line_id, quantity=1)], requested_at=NOW,
    )  # fmt: skip
    await processed(svc, await publish(svc, asked))
    await processed(svc, await publish(svc, asked))
    stuck = ShipmentStalled(**{**parcel(o, uuid.uuid4()), "status": "in_customs"},
                            last_scan_at=NOW, silent_days=30, silent_route=False)  # fmt: skip
    await processed(svc, await publish(svc, stuck))
    r = await svc.client.get(f"/v1/cases?shop_id={o.shop_id}", headers=svc.admin_headers)
    cases = {c["type"]: c for c in r.json()["cases"]}
    assert sorted(cases) == ["held_by_customs", "wrong_size"]
    assert cases["wrong_size"]["opened_by"] == "storefront"
    assert cases["held_by_customs"]["proposal"]["resolution"] == "explain"


async def test_overdue_lists_every_case_past_its_step_not_only_the_newest_page(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    o = order()
    await processed(svc, await publish(svc, o))
    late = await _case(svc, o, "lost")
    for _ in range(3):  # newer cases on time, before it on the first page
        await _case(svc, o, "delayed")
    async with svc.runtime.db.transaction() as s:
        await s.execute(
            sa.update(Case).where(Case.id == uuid.UUID(late["id"]))
            .values(due_by=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )  # fmt: skip
    r = await svc.client.get("/v1/cases?overdue=true&limit=2", headers=svc.admin_headers)
    assert [(c["id"], c["deadline"]) for c in r.json()["cases"]] == [(late["id"], "overdue")]


async def test_a_parcel_marked_lost_and_then_presumed_lost_is_one_case(
    start_service,
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    o = order()
    await processed(svc, await publish(svc, o))
    pid = uuid.uuid4()
    marked = ShipmentStatusChanged(
        **{**parcel(o, pid), "status": "lost"}, previous_status="in_transit", occurred_at=NOW,
        description="marked lost by an operator", location=None, buyer_notice=None,
    )  # fmt: skip
    await processed(svc, await publish(svc, marked))
    lost = ShipmentPresumedLost(**parcel(o, pid), last_scan_at=None, silent_days=40,
                                detected_at=NOW)  # fmt: skip
    await processed(svc, await publish(svc, lost))
    r = await svc.client.get(f"/v1/cases?shop_id={o.shop_id}", headers=svc.admin_headers)
    assert [c["type"] for c in r.json()["cases"]] == ["lost"]


async def test_the_return_parcel_followed_by_logistics_releases_the_refund_on_delivery(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, evidence={})
    await processed(svc, await publish(svc, o))
    case = await _case(svc, o, "not_as_described")
    h = svc.admin_headers
    await svc.client.post(f"/v1/cases/{case['id']}/approve", headers=h)
    r = await svc.client.post(
        f"/v1/cases/{case['id']}/return-tracking", headers=h,
        json={"tracking_number": "LX123456785DE", "carrier": "DHL"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    [shipped] = await tap.wait_for("aftersales.return_shipped")
    assert (shipped.payload["case_id"], shipped.payload["tracking_number"]) == (
        case["id"], "LX123456785DE"
    )  # fmt: skip
    back = ShipmentStatusChanged(
        **{**parcel(o, uuid.uuid4()), "status": "delivered", "tracking_number": "LX123456785DE"},
        previous_status="in_transit", occurred_at=NOW, description=None, location=None,
        buyer_notice=None, case_id=uuid.UUID(case["id"]), return_parcel=True,
    )  # fmt: skip
    await processed(svc, await publish(svc, back))
    await processed(svc, await publish(svc, back.model_copy()))
    [refund] = await tap.wait_for("aftersales.refund_requested")
    assert refund.payload["case_id"] == case["id"]
    body = await _get(svc, case["id"])
    assert body["return_info"]["received_at"] is not None
    assert [e["kind"] for e in body["timeline"]].count("return_received") == 1
    async with svc.runtime.db.sessions() as s:  # a return parcel is not the order's
        copy = await s.get(OrderCopy, o.order_id)
        assert copy is not None and copy.parcels == [] and copy.delivered_at is None


async def test_a_wrong_item_is_reshipped_and_the_wrong_one_kept_at_a_discount(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, evidence={}, keep_item_discount_percent="30")
    await processed(svc, await publish(svc, o))
    case = await _case(svc, o, "wrong_item")
    assert (case["proposal"]["resolution"], case["proposal"]["amount"]) == ("reship", "10.20")
    await svc.client.post(f"/v1/cases/{case['id']}/approve", headers=svc.admin_headers)
    [reship] = await tap.wait_for("aftersales.reship_requested")
    assert reship.payload["lines"][0]["sku"] is None  # the line's own (right) item
    [kept] = await tap.wait_for("aftersales.refund_requested")
    assert (kept.payload["kind"], Decimal(kept.payload["amount"])) == (
        "compensation", Decimal("10.20")
    )  # fmt: skip
    body = await _get(svc, case["id"])
    assert sorted((e["kind"], e["borne_by"]) for e in body["ledger"]) == [
        ("refund", "supplier"), ("reship", "supplier")
    ]  # fmt: skip


async def test_missing_units_wait_for_the_buyers_next_order_or_an_agent_sends_them(
    start_service, tap_factory
) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC)
    tap = await tap_factory(svc.settings, ["aftersales.#"])
    o = order()
    await _policy(svc, o, evidence={}, missing_units="next_order", next_order_wait_days=20,
                  postage_estimate={"EUR": "6"})  # fmt: skip
    await processed(svc, await publish(svc, o))
    placed = SupplierOrderPlaced(
        order_id=o.order_id, supplier_order_id=uuid.uuid4(), supplier_id=uuid.uuid4(),
        placed_at=NOW, goods_cost=Decimal("10.00"), currency="EUR",
    )  # fmt: skip
    await processed(svc, await publish(svc, placed))
    h = svc.admin_headers
    short = await _case(svc, o, "quantity_short")
    assert short["proposal"]["resolution"] == "send_missing"
    r = await svc.client.post(f"/v1/cases/{short['id']}/approve", headers=h)
    assert r.status_code == 200, r.text
    body = await _get(svc, short["id"])
    assert body["status"] == "resolving" and body["proposal"]["with_next_order"] is True
    due = dt.datetime.fromisoformat(body["due_by"])
    assert due - dt.datetime.now(dt.UTC) > dt.timedelta(days=19)  # overdue after the wait
    assert not tap.of_type("aftersales.reship_requested")

    # the same buyer orders again at the same shop: the units go with that order
    again = order().model_copy(update={"shop_id": o.shop_id, "buyer": o.buyer, "number": "#2"})
    await processed(svc, await publish(svc, again))
    await processed(svc, await publish(svc, again.model_copy()))  # twice: sent once
    [reship] = await tap.wait_for("aftersales.reship_requested")
    assert reship.payload["case_id"] == short["id"]
    assert f"pack with our order {again.order_id}" in reship.payload["reason"]
    r = await svc.client.post(f"/v1/cases/{short['id']}/send-missing-now", headers=h)
    assert r.status_code == 409  # sent already

    # the wait is over without a new order: the agent sends them now, once
    third = order().model_copy(update={"shop_id": o.shop_id})
    await processed(svc, await publish(svc, third))
    costed = placed.model_copy(update={"order_id": third.order_id,
                                       "supplier_order_id": uuid.uuid4()})  # fmt: skip
    await processed(svc, await publish(svc, costed))
    waiting = await _case(svc, third, "quantity_short")
    await svc.client.post(f"/v1/cases/{waiting['id']}/approve", headers=h)
    r = await svc.client.post(f"/v1/cases/{waiting['id']}/send-missing-now", headers=h)
    assert r.status_code == 200, r.text
    sent = await tap.wait_for("aftersales.reship_requested", count=2)
    assert [e.payload["case_id"] for e in sent] == [short["id"], waiting["id"]]
    r = await svc.client.post(f"/v1/cases/{waiting['id']}/send-missing-now", headers=h)
    assert r.status_code == 409
