"""order.confirmed on the bus -> one supplier order per supplier, exactly once."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from dropship_common.observability import MESSAGES_CONSUMED
from dropship_testkit.tap import eventually
from supplier_gateway.main import SPEC
from supplier_gateway.models import SupplierOrder

from ..unit.test_notice_and_customs import _order

pytestmark = pytest.mark.integration


async def test_confirmed_order_opens_one_supplier_order_per_supplier_once(start_service) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    h = gw.admin_headers
    order = _order("DE")
    ids = {}
    for name in ("Main", "EU Warehouse"):
        r = await gw.client.post(
            "/v1/suppliers", headers=h, json={"name": name, "adapter": "portal", "handling_days": 2}
        )
        ids[name] = r.json()["id"]
    base = {
        "unit_cost": "1",
        "currency": "USD",
        "customs_description": "goods",
        "weight_grams": 200,
    }
    r = await gw.client.post(
        "/v1/mappings",
        headers=h,
        json={
            "shop_id": str(order.shop_id),
            "mappings": [
                {**base, "sku": "MUG-1", "supplier_id": ids["Main"], "supplier_product_id": "M1"},
                {
                    **base,
                    "sku": "MUG-1",
                    "supplier_id": ids["EU Warehouse"],
                    "supplier_product_id": "E1",
                    "destination_country": "DE",
                },
                {**base, "sku": "TEE-M", "supplier_id": ids["Main"], "supplier_product_id": "T1"},
            ],
        },
    )
    assert r.status_code == 201, r.text

    def handled() -> float:
        return sum(
            MESSAGES_CONSUMED.labels("supplier-gateway", "order.confirmed", o)._value.get()
            for o in ("ok", "duplicate")
        )

    before = handled()
    envelope = order.envelope(correlation_id=str(order.order_id))
    # delivered twice (a redelivery) and published twice (a relay that crashed before
    # marking it sent publishes a new copy with the same id; another event id too)
    await gw.runtime.bus.publish([envelope])
    await gw.runtime.bus.publish([envelope])
    await gw.runtime.bus.publish([order.envelope(correlation_id=str(order.order_id))])

    async def handled_three() -> bool:
        return handled() - before >= 3

    await eventually(handled_three)
    r = await gw.client.get(
        "/v1/supplier-orders", headers=h, params={"order_id": str(order.order_id)}
    )
    body = r.json()
    by_supplier = {so["supplier_id"]: so for so in body["supplier_orders"]}
    assert set(by_supplier) == {ids["Main"], ids["EU Warehouse"]}
    assert [i["sku"] for i in by_supplier[ids["EU Warehouse"]]["notice"]["items"]] == ["MUG-1"]
    assert [i["supplier_product_id"] for i in by_supplier[ids["Main"]]["notice"]["items"]] == ["T1"]
    assert [u["sku"] for u in body["unrouted_lines"]] == ["NOPE"]
    so = by_supplier[ids["Main"]]
    r = await gw.client.get(f"/v1/supplier-orders/{so['id']}", headers=h)
    detail = r.json()
    assert detail["status"] == "placed"  # a portal supplier sees it at once
    assert [(e["kind"], e["to_status"]) for e in detail["timeline"]] == [
        ("created", "pending"),
        ("status_changed", "placed"),
    ]
    async with gw.runtime.db.sessions() as s:
        count = await s.scalar(sa.select(sa.func.count()).select_from(SupplierOrder))
    assert count == 2
    r = await gw.client.get(f"/v1/supplier-orders/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
