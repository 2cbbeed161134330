"""The shops' secrets are encrypted in the database (read back with plain SQL), keep
working through the API, and move to a new key with `dropship secrets rotate`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from dropship_cli.rotation import rotate_secrets
from dropship_common import secretbox
from dropship_common.secretbox import ENC_PREFIX, Keyring
from dropship_testkit.pytest_plugin import TEST_SECRET
from dropship_testkit.storefront import create_shop
from order_intake.main import SPEC

pytestmark = pytest.mark.integration

NEW_KEY = "the-next-secret-key-0123456789-abcdefghij"
CREDENTIALS = {"access_token": "shpat_0123456789abcdef", "manage_webhooks": False}


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    before = secretbox.keyring()
    yield
    secretbox.install(before)


async def _raw(svc) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    async with svc.runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(sa.text("SELECT webhook_secrets, admin_credentials FROM shops"))
        ).one()
    return str(row.webhook_secrets), str(row.admin_credentials)


async def test_shop_secrets_are_ciphertext_in_the_database_and_rotate(  # type: ignore[no-untyped-def]
    start_service, restore_keyring
) -> None:
    svc = await start_service(SPEC)
    shop_id = await create_shop(
        svc.client,
        svc.admin_headers,
        secret="shpss_webhook_secret_1",
        admin_credentials=CREDENTIALS,
        skus=(),
    )
    secrets_raw, credentials_raw = await _raw(svc)
    for raw in (secrets_raw, credentials_raw):
        assert raw.startswith(ENC_PREFIX)
    assert "shpss_webhook_secret_1" not in secrets_raw
    assert "shpat_0123456789abcdef" not in credentials_raw

    # the new key first (the old one still reads), then the rotation, twice
    secretbox.install(Keyring.from_secrets(NEW_KEY, [TEST_SECRET]))
    assert await rotate_secrets(svc.settings, secretbox.keyring()) == {"order-intake": 1}
    assert await rotate_secrets(svc.settings, secretbox.keyring()) == {"order-intake": 0}
    rotated = await _raw(svc)
    assert rotated != (secrets_raw, credentials_raw)

    secretbox.install(Keyring.from_secrets(NEW_KEY))  # the old key dropped
    new_only = secretbox.keyring()
    assert new_only.decrypt(rotated[0]) == '["shpss_webhook_secret_1"]'
    r = await svc.client.get(f"/v1/shops/{shop_id}", headers=svc.admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["webhook_secrets_count"] == 1 and r.json()["has_admin_credentials"]
