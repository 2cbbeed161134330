"""A supplier's keys: a new portal key retires the old one (at once or after a grace
period), a deactivated supplier's keys stop at once, a key sees only its supplier."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from dropship_common.db import utcnow
from supplier_gateway.main import SPEC

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def gw(start_service):  # type: ignore[no-untyped-def]
    return await start_service(SPEC)


async def _supplier(gw) -> str:  # type: ignore[no-untyped-def]
    body = {"name": f"s-{uuid.uuid4().hex[:8]}", "adapter": "portal", "handling_days": 2}
    r = await gw.client.post("/v1/suppliers", headers=gw.admin_headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def _portal_key(gw, sid: str, grace_minutes: int = 0) -> str:  # type: ignore[no-untyped-def]
    r = await gw.client.post(
        f"/v1/suppliers/{sid}/portal-key",
        headers=gw.admin_headers,
        params={"grace_minutes": grace_minutes},
    )
    assert r.status_code == 201, r.text
    return r.json()["key"]  # type: ignore[no-any-return]


async def _status(gw, key: str) -> int:  # type: ignore[no-untyped-def]
    """A valid supplier key gets 404 for an order that is not there; a refused one 401."""
    r = await gw.client.get(
        f"/v1/supplier/orders/{uuid.uuid4()}", headers={"authorization": f"Bearer {key}"}
    )
    return r.status_code


async def test_a_new_portal_key_revokes_the_old_one_at_once(gw) -> None:  # type: ignore[no-untyped-def]
    sid = await _supplier(gw)
    old = await _portal_key(gw, sid)
    assert await _status(gw, old) == 404
    new = await _portal_key(gw, sid)
    assert await _status(gw, old) == 401
    assert await _status(gw, new) == 404


async def test_a_replaced_portal_key_works_until_the_grace_period_ends(gw, browser_for) -> None:  # type: ignore[no-untyped-def]
    sid = await _supplier(gw)
    other = await _portal_key(gw, await _supplier(gw))
    old = await _portal_key(gw, sid)
    new = await _portal_key(gw, sid, grace_minutes=60)
    assert await _status(gw, old) == 404 and await _status(gw, new) == 404

    r = await gw.client.get("/v1/admin/api-keys", headers=gw.admin_headers)
    mine = [k for k in r.json() if k["subject"] == sid]
    ends = [k["expires_at"] for k in mine if k["expires_at"] is not None]
    assert len(mine) == 2 and len(ends) == 1
    assert dt.datetime.fromisoformat(ends[0]) > utcnow() + dt.timedelta(minutes=59)

    # the grace period ends: move its end into the past rather than wait an hour
    t = gw.runtime.tables.api_keys
    async with gw.runtime.db.transaction() as s:
        await s.execute(
            sa.update(t)
            .where(t.c.subject == sid, t.c.expires_at.is_not(None))
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert await _status(gw, old) == 401
    assert await _status(gw, new) == 404
    assert await _status(gw, other) == 404  # another supplier's key is untouched
    # nor does the portal take it (signing in as a browser does: its form, token, Origin)
    browser = browser_for(gw)
    assert (await browser.login(old)).status_code == 401
    assert (await browser.login(new)).status_code == 303


async def test_deactivating_a_supplier_stops_its_keys_at_once(gw) -> None:  # type: ignore[no-untyped-def]
    sid = await _supplier(gw)
    key = await _portal_key(gw, sid)
    kept = await _portal_key(gw, await _supplier(gw))
    r = await gw.client.patch(
        f"/v1/suppliers/{sid}", headers=gw.admin_headers, json={"active": False}
    )
    assert r.status_code == 200, r.text
    assert await _status(gw, key) == 401
    assert await _status(gw, kept) == 404


async def test_the_grace_period_is_bounded(gw) -> None:  # type: ignore[no-untyped-def]
    sid = await _supplier(gw)
    r = await gw.client.post(
        f"/v1/suppliers/{sid}/portal-key",
        headers=gw.admin_headers,
        params={"grace_minutes": 7 * 24 * 60 + 1},
    )
    assert r.status_code == 422


async def test_a_shop_scoped_operator_key_sees_only_its_shops_supplier_orders(gw) -> None:  # type: ignore[no-untyped-def]
    from dropship_common.auth import create_api_key
    from dropship_common.security import Role
    from supplier_gateway.models import SupplierOrder

    sid = uuid.UUID(await _supplier(gw))
    mine, theirs, order = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with gw.runtime.db.transaction() as s:
        rows = [
            SupplierOrder(
                order_id=order, shop_id=shop, supplier_id=sid, status="accepted", notice={}
            )
            for shop in (mine, theirs)
        ]
        rows[1].order_id = uuid.uuid4()
        s.add_all(rows)
        _, key = await create_api_key(
            s, gw.runtime.tables.api_keys, Role.OPERATOR, shops=[str(mine)]
        )
    scoped = {"authorization": f"Bearer {key}"}
    my_row, their_row = rows[0].id, rows[1].id

    r = await gw.client.get("/v1/supplier-orders", headers=scoped, params={"status": "accepted"})
    assert [o["id"] for o in r.json()["supplier_orders"]] == [str(my_row)]
    assert (await gw.client.get(f"/v1/supplier-orders/{my_row}", headers=scoped)).status_code == 200
    r = await gw.client.get(f"/v1/supplier-orders/{their_row}", headers=scoped)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await gw.client.post(f"/v1/supplier-orders/{their_row}/place", headers=scoped)
    assert r.status_code == 404
    r = await gw.client.get(
        "/v1/supplier-orders", headers=gw.admin_headers, params={"status": "accepted"}
    )
    assert {o["id"] for o in r.json()["supplier_orders"]} == {str(my_row), str(their_row)}

    # mappings are per shop too
    r = await gw.client.get("/v1/mappings", headers=scoped, params={"shop_id": str(mine)})
    assert r.status_code == 200
    for path in ("/v1/mappings", "/v1/mappings/route"):
        r = await gw.client.get(path, headers=scoped, params={"shop_id": str(theirs), "sku": "A"})
        assert r.status_code == 404, path
    mapping = {
        "supplier_id": str(sid), "sku": "A", "supplier_product_id": "P-1", "unit_cost": "2",
        "currency": "EUR", "customs_description": "a mug", "weight_grams": 300,
    }  # fmt: skip
    for shop, status in ((theirs, 404), (mine, 201)):
        body = {"shop_id": str(shop), "mappings": [mapping]}
        r = await gw.client.post("/v1/mappings", headers=scoped, json=body)
        assert r.status_code == status, r.text


async def test_a_supplier_key_sees_only_its_supplier_orders(gw) -> None:  # type: ignore[no-untyped-def]
    from supplier_gateway.models import SupplierOrder

    a, b = uuid.UUID(await _supplier(gw)), uuid.UUID(await _supplier(gw))
    key_a = await _portal_key(gw, str(a))
    async with gw.runtime.db.transaction() as s:
        rows = [
            SupplierOrder(
                order_id=uuid.uuid4(), shop_id=uuid.uuid4(), supplier_id=x, status="accepted",
                notice={},
            )
            for x in (a, b)
        ]  # fmt: skip
        s.add_all(rows)
    h = {"authorization": f"Bearer {key_a}"}
    assert (await gw.client.get(f"/v1/supplier/orders/{rows[0].id}", headers=h)).status_code == 200
    r = await gw.client.get(f"/v1/supplier/orders/{rows[1].id}", headers=h)
    assert r.status_code == 404
    assert (
        await gw.client.get("/v1/supplier-orders/" + str(rows[0].id), headers=h)
    ).status_code == 403
