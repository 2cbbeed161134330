"""How PostgreSQL stores order-intake's large values (migration 0003)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dropship_testkit.storefront import create_shop, shopify_headers, shopify_order
from order_intake.main import SPEC

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


async def test_a_broken_driver_connection_leaves_the_pool(start_service) -> None:  # type: ignore[no-untyped-def]
    """A connection whose server process died fails once on the driver path, is dropped
    from the pool, and is not handed out again (there is no pre-ping)."""
    svc = await start_service(SPEC, role="api")
    db = svc.runtime.db
    async with db.driver_connection() as conn, db.driver_connection() as other:
        victim = await conn.fetchval("SELECT pg_backend_pid()")
        assert await other.fetchval("SELECT pg_terminate_backend($1)", victim)
    failures = []
    for _ in range(30):  # more than the pool holds: each pooled connection comes round
        try:
            async with db.driver_connection() as conn:
                await conn.fetchval("SELECT 1")
        except sa.exc.DBAPIError as exc:
            failures.append(type(exc).__name__)
    assert failures == ["OperationalError"]

    with pytest.raises(sa.exc.DataError):
        async with db.driver_connection() as conn:
            await conn.fetchval("SELECT 1 / 0")


async def test_pending_deliveries_are_indexed_by_arrival(start_service) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(SPEC, role="api")
    async with svc.runtime.db.sessions() as s:
        indexes = dict(
            (
                await s.execute(
                    sa.text(
                        "SELECT indexname, indexdef FROM pg_indexes "
                        "WHERE tablename = 'webhook_deliveries'"
                    )
                )
            ).all()
        )
    assert "ix_webhook_deliveries_pending_new" not in indexes
    assert (
        "(received_at) WHERE ((status)::text = 'pending'::text)"
        in (indexes["ix_webhook_deliveries_pending"])
    )
