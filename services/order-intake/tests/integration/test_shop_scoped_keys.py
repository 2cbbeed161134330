"""An operator key limited to some shops sees nothing of the others: another shop's
order, fulfilments, shop or products answer 404, lists show only its shops (issue 11 §7)."""

from __future__ import annotations

import uuid

import pytest

from dropship_common.auth import create_api_key
from dropship_common.security import Role
from dropship_testkit.storefront import create_shop

from .conftest import Intake
from .test_orders_api import order_body

pytestmark = pytest.mark.integration


async def _operator(intake: Intake, shops: list[str] | None) -> dict[str, str]:
    async with intake.svc.runtime.db.transaction() as s:
        _, key = await create_api_key(
            s, intake.svc.runtime.tables.api_keys, Role.OPERATOR, shops=shops
        )
    return {"authorization": f"Bearer {key}"}


async def _custom_shop(intake: Intake, domain: str) -> str:
    return await create_shop(
        intake.client,
        intake.h,
        platform="custom",
        domain=domain,
        secret="s3cret-123",
        skus=("MUG-1",),
    )


async def _order(intake: Intake, shop: str, external_id: str) -> str:
    body = order_body(shop, external_id=external_id, number=external_id)
    r = await intake.client.post("/v1/orders", headers=intake.h, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def test_a_shop_scoped_key_sees_only_its_shops(intake: Intake) -> None:
    mine = await _custom_shop(intake, "mine.example.com")
    theirs = await _custom_shop(intake, "theirs.example.com")
    my_order = await _order(intake, mine, "M-1")
    their_order = await _order(intake, theirs, "T-1")
    scoped = await _operator(intake, [mine])
    c = intake.client

    # lists: only its shops' data
    r = await c.get("/v1/orders", headers=scoped)
    assert r.status_code == 200 and [o["id"] for o in r.json()["items"]] == [my_order]
    r = await c.get("/v1/orders", headers=scoped, params={"shop_id": theirs})
    assert r.status_code == 404 and r.json()["error"]["code"] == "shop_not_found"
    r = await c.get("/v1/shops", headers=scoped)
    assert [s["id"] for s in r.json()] == [mine]

    # its own: as usual
    assert (await c.get(f"/v1/orders/{my_order}", headers=scoped)).status_code == 200
    assert (await c.get(f"/v1/orders/{my_order}/fulfilments", headers=scoped)).status_code == 200
    assert (await c.get(f"/v1/shops/{mine}", headers=scoped)).status_code == 200
    r = await c.get("/v1/products", headers=scoped, params={"shop_id": mine})
    assert r.status_code == 200 and [p["sku"] for p in r.json()] == ["MUG-1"]

    # another shop's: not found, as if it did not exist (not 403), and nothing changes
    missing = await c.get(f"/v1/orders/{uuid.uuid4()}", headers=scoped)
    r = await c.get(f"/v1/orders/{their_order}", headers=scoped)
    assert r.status_code == missing.status_code == 404
    assert r.json()["error"]["code"] == missing.json()["error"]["code"] == "order_not_found"
    assert (await c.get(f"/v1/orders/{their_order}/fulfilments", headers=scoped)).status_code == 404
    r = await c.post(f"/v1/orders/{their_order}/cancel", headers=scoped, json={"reason": "x"})
    assert r.status_code == 404
    assert (await intake.order(their_order))["status"] != "cancelled"
    assert (await c.get(f"/v1/shops/{theirs}", headers=scoped)).status_code == 404
    r = await c.get("/v1/products", headers=scoped, params={"shop_id": theirs})
    assert r.status_code == 404 and r.json()["error"]["code"] == "shop_not_found"
    r = await c.post(
        "/v1/products",
        headers=scoped,
        json={"shop_id": theirs, "products": [{"sku": "X-1", "title": "X"}]},
    )
    assert r.status_code == 404
    r = await c.post("/v1/orders", headers=scoped, json=order_body(theirs, external_id="T-2"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "shop_not_found"


async def test_unscoped_operator_and_admin_keys_stay_global(intake: Intake) -> None:
    a = await _custom_shop(intake, "a.example.com")
    b = await _custom_shop(intake, "b.example.com")
    orders = {await _order(intake, a, "A-1"), await _order(intake, b, "B-1")}
    for headers in (await _operator(intake, None), intake.h):
        r = await intake.client.get("/v1/orders", headers=headers)
        assert {o["id"] for o in r.json()["items"]} == orders
        for order in orders:
            assert (
                await intake.client.get(f"/v1/orders/{order}", headers=headers)
            ).status_code == 200
