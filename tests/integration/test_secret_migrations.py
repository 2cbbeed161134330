"""The migrations that encrypt the stored secrets (order-intake 0008, supplier-gateway
0010), on an install that holds plaintext ones, on SQLite and PostgreSQL: every value
is ciphertext afterwards and reads back as it was; the downgrade gives the plaintext
back in the earlier column types."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from dropship_cli.services import migrations_dir
from dropship_common import secretbox
from dropship_common.migrate import alembic_config, upgrade
from dropship_testkit.infra import create_database, drop_database

pytestmark = pytest.mark.integration

SHOP_SECRETS = ["whsec_current", "whsec_previous"]
SHOP_CREDENTIALS = {"consumer_key": "ck_abc", "consumer_secret": "cs_def"}
SUPPLIER_CREDENTIALS = {"api_key": "CJ123@api@0123456789abcdef"}
TOKENS = {"access_token": "access-1", "refresh_token": "refresh-1", "open_id": "open-1"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
        return
    name = f"dstest_secrets_{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    yield url
    await drop_database(name)


async def _execute(url: str, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sa.text(sql), params or {})
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


def _id(url: str, value: uuid.UUID) -> str | uuid.UUID:
    return value.hex if url.startswith("sqlite") else value


async def test_order_intake_0008_encrypts_the_shops_secrets(database: str) -> None:
    folder = migrations_dir("order-intake")
    await upgrade(folder, database, "0006")
    shop = uuid.uuid4()
    await _execute(
        database,
        "INSERT INTO shops (id, platform, domain, webhook_secrets, admin_credentials,"
        " payment_window_days, payment_reminder_days, accept_authorized, buyer_language,"
        " handling_days, ship_from_country, active, created_at, updated_at) VALUES"
        " (:id, 'woocommerce', 'shop.example', :secrets, :creds, 20, '[]', true, 'en', 3,"
        " 'CN', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        {
            "id": _id(database, shop),
            "secrets": json.dumps(SHOP_SECRETS),
            "creds": json.dumps(SHOP_CREDENTIALS),
        },
    )
    await upgrade(folder, database, "0008")

    [(secrets_raw, creds_raw)] = await _execute(
        database, "SELECT webhook_secrets, admin_credentials FROM shops"
    )
    ring = secretbox.keyring()
    for raw, plain in ((secrets_raw, SHOP_SECRETS), (creds_raw, SHOP_CREDENTIALS)):
        assert raw.startswith(secretbox.ENC_PREFIX)
        assert "whsec_" not in raw and "ck_abc" not in raw
        assert json.loads(ring.decrypt(raw)) == plain

    await asyncio.to_thread(command.downgrade, alembic_config(folder, database), "0006")
    [(secrets_back, creds_back)] = await _execute(
        database, "SELECT webhook_secrets, admin_credentials FROM shops"
    )
    as_json = [
        v if isinstance(v, list | dict) else json.loads(v) for v in (secrets_back, creds_back)
    ]
    assert as_json == [SHOP_SECRETS, SHOP_CREDENTIALS]


async def test_supplier_gateway_0010_encrypts_credentials_and_tokens(database: str) -> None:
    folder = migrations_dir("supplier-gateway")
    await upgrade(folder, database, "0007")
    supplier = uuid.uuid4()
    await _execute(
        database,
        "INSERT INTO suppliers (id, name, adapter, credentials, handling_days,"
        " holiday_country, ship_from_country, active, created_at, updated_at) VALUES"
        " (:id, 'CJ', 'cjdropshipping', :creds, 2, 'CN', 'CN', true, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP)",
        {"id": _id(database, supplier), "creds": json.dumps(SUPPLIER_CREDENTIALS)},
    )
    await _execute(
        database,
        "INSERT INTO supplier_tokens (supplier_id, access_token, refresh_token, open_id,"
        " updated_at) VALUES (:id, :access_token, :refresh_token, :open_id, CURRENT_TIMESTAMP)",
        {"id": _id(database, supplier), **TOKENS},
    )
    await upgrade(folder, database, "0010")

    ring = secretbox.keyring()
    [(creds_raw,)] = await _execute(database, "SELECT credentials FROM suppliers")
    assert creds_raw.startswith(secretbox.ENC_PREFIX) and "CJ123" not in creds_raw
    assert json.loads(ring.decrypt(creds_raw)) == SUPPLIER_CREDENTIALS
    [row] = await _execute(
        database, "SELECT access_token, refresh_token, open_id FROM supplier_tokens"
    )
    assert all(v.startswith(secretbox.ENC_PREFIX) for v in row)
    assert [ring.decrypt(v) for v in row] == list(TOKENS.values())

    await asyncio.to_thread(command.downgrade, alembic_config(folder, database), "0007")
    [row] = await _execute(
        database, "SELECT access_token, refresh_token, open_id FROM supplier_tokens"
    )
    assert list(row) == list(TOKENS.values())
    [(creds_back,)] = await _execute(database, "SELECT credentials FROM suppliers")
    creds = creds_back if isinstance(creds_back, dict) else json.loads(creds_back)
    assert creds == SUPPLIER_CREDENTIALS
