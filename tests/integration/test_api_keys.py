"""API keys can be listed, revoked and expire, on every service (issue 11 §4)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from aftersales.main import SPEC as AFTERSALES
from dropship_common.db import utcnow
from logistics.main import SPEC as LOGISTICS
from order_intake.main import SPEC as ORDER_INTAKE
from supplier_gateway.main import SPEC as SUPPLIER_GATEWAY

pytestmark = pytest.mark.integration

KEYS = "/v1/admin/api-keys"


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "spec", [ORDER_INTAKE, SUPPLIER_GATEWAY, LOGISTICS, AFTERSALES], ids=lambda s: s.name
)
async def test_a_key_is_listed_with_its_last_use_and_refused_once_revoked(
    start_service,  # type: ignore[no-untyped-def]
    spec,
) -> None:
    svc = await start_service(spec)
    r = await svc.client.post(
        KEYS, headers=svc.admin_headers, json={"role": "admin", "label": "ci"}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key, key_id = created["key"], created["id"]
    assert created["last_used_at"] is None and created["revoked_at"] is None

    r = await svc.client.get(KEYS, headers=_bearer(key))
    assert r.status_code == 200, r.text
    listed = {k["id"]: k for k in r.json()}
    assert "key" not in listed[key_id] and "key_hash" not in listed[key_id]
    assert listed[key_id]["label"] == "ci" and listed[key_id]["last_used_at"] is not None

    r = await svc.client.post(f"{KEYS}/{key_id}/revoke", headers=svc.admin_headers)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    r = await svc.client.get(KEYS, headers=_bearer(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"

    r = await svc.client.post(f"{KEYS}/nosuchkey/revoke", headers=svc.admin_headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_last_use_is_written_at_most_once_a_minute(start_service) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(LOGISTICS)
    created = (
        await svc.client.post(KEYS, headers=svc.admin_headers, json={"role": "admin"})
    ).json()
    t = svc.runtime.tables.api_keys

    async def last_used() -> dt.datetime | None:
        async with svc.runtime.db.sessions() as s:
            value: dt.datetime | None = await s.scalar(
                sa.select(t.c.last_used_at).where(t.c.id == created["id"])
            )
            return value

    assert (await svc.client.get(KEYS, headers=_bearer(created["key"]))).status_code == 200
    first = await last_used()
    assert first is not None
    assert (await svc.client.get(KEYS, headers=_bearer(created["key"]))).status_code == 200
    assert await last_used() == first  # the second request wrote nothing

    earlier = first - dt.timedelta(minutes=2)
    async with svc.runtime.db.transaction() as s:
        await s.execute(sa.update(t).where(t.c.id == created["id"]).values(last_used_at=earlier))
    assert (await svc.client.get(KEYS, headers=_bearer(created["key"]))).status_code == 200
    later = await last_used()
    assert later is not None and later > first


async def test_a_key_past_its_expiry_is_refused(start_service) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(AFTERSALES)
    created = (
        await svc.client.post(KEYS, headers=svc.admin_headers, json={"role": "admin"})
    ).json()
    t = svc.runtime.tables.api_keys
    async with svc.runtime.db.transaction() as s:
        await s.execute(
            sa.update(t)
            .where(t.c.id == created["id"])
            .values(expires_at=utcnow() + dt.timedelta(minutes=5))
        )
    assert (await svc.client.get(KEYS, headers=_bearer(created["key"]))).status_code == 200
    async with svc.runtime.db.transaction() as s:
        await s.execute(
            sa.update(t)
            .where(t.c.id == created["id"])
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert (await svc.client.get(KEYS, headers=_bearer(created["key"]))).status_code == 401


async def test_only_admins_manage_keys_and_only_operator_keys_take_shops(start_service) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(LOGISTICS)
    op = (await svc.client.post(KEYS, headers=svc.admin_headers, json={"role": "operator"})).json()
    assert (await svc.client.get(KEYS, headers=_bearer(op["key"]))).status_code == 403
    r = await svc.client.post(
        KEYS, headers=svc.admin_headers, json={"role": "admin", "shops": ["a"]}
    )
    assert r.status_code == 422
    r = await svc.client.post(
        KEYS, headers=svc.admin_headers, json={"role": "operator", "shops": ["s1", "s2"]}
    )
    assert r.status_code == 201 and r.json()["shops"] == ["s1", "s2"]
