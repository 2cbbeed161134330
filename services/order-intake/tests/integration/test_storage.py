"""How PostgreSQL stores order-intake's large values (migration 0003)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from order_intake.main import SPEC
from order_intake.testing import create_shop, shopify_headers, shopify_order

pytestmark = pytest.mark.integration


async def test_webhook_bodies_and_outbox_envelopes_are_compressed_with_lz4(
    start_service,  # type: ignore[no-untyped-def]
) -> None:
    svc = await start_service(SPEC, role="api")
    async with svc.runtime.db.sessions() as s:
        supported = await s.scalar(
            sa.text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        )
        methods = dict(
            (
                await s.execute(
                    sa.text(
                        "SELECT attrelid::regclass::text || '.' || attname, attcompression::text "
                        "FROM pg_attribute WHERE (attrelid::regclass::text, attname) IN "
                        "(('webhook_deliveries', 'body'), ('outbox', 'envelope'))"
                    )
                )
            ).all()
        )
    assert supported, "this PostgreSQL has no lz4: the test machine should have it"
    assert methods == {"webhook_deliveries.body": "l", "outbox.envelope": "l"}

    # a stored webhook body (over the 2 kB TOAST threshold) really is lz4-compressed
    await create_shop(
        svc.client, svc.admin_headers, domain="lz4.myshopify.com", secret="shpss_lz4_secret"
    )
    body = shopify_order(id=4242, name="#4242")
    assert len(body) > 2048
    r = await svc.client.post(
        "/webhooks/shopify",
        content=body,
        headers=shopify_headers(body, "shpss_lz4_secret", domain="lz4.myshopify.com"),
    )
    assert r.json()["status"] == "accepted", r.text
    async with svc.runtime.db.sessions() as s:
        found = await s.scalar(
            sa.text("SELECT pg_column_compression(body) FROM webhook_deliveries")
        )
    assert found == "lz4"
