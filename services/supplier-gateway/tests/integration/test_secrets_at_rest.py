"""A supplier's credentials and API tokens are encrypted in the database (read back
with plain SQL) and read back as they were through the models."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from dropship_common.secretbox import ENC_PREFIX
from supplier_gateway.adapters.base import SavedToken
from supplier_gateway.adapters.token_store import DbTokenStore
from supplier_gateway.main import SPEC

pytestmark = pytest.mark.integration


async def test_supplier_credentials_and_tokens_are_ciphertext(start_service) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC)
    body = {
        "name": "Encrypted Co",
        "adapter": "portal",
        "handling_days": 2,
        "credentials": {"api_key": "sk-live-SECRET-123"},
    }
    r = await gw.client.post("/v1/suppliers", headers=gw.admin_headers, json=body)
    assert r.status_code == 201, r.text
    supplier_id = uuid.UUID(r.json()["id"])
    now = dt.datetime.now(dt.UTC)
    token = SavedToken(
        access_token="access-SECRET-1",
        access_expires=now + dt.timedelta(days=15),
        refresh_token="refresh-SECRET-2",
        refresh_expires=now + dt.timedelta(days=180),
        open_id="openid-SECRET-3",
        issued_at=now,
        account="fingerprint",
    )
    store = DbTokenStore(gw.runtime.db, supplier_id)
    await store.save(token)

    async with gw.runtime.db.engine.connect() as conn:
        (credentials,) = (await conn.execute(sa.text("SELECT credentials FROM suppliers"))).one()
        tokens = (
            await conn.execute(
                sa.text("SELECT access_token, refresh_token, open_id FROM supplier_tokens")
            )
        ).one()
    for raw in (credentials, *tokens):
        assert raw.startswith(ENC_PREFIX) and "SECRET" not in raw
    assert await store.load() == token
