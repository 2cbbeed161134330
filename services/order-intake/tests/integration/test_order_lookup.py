"""The webhook processor's batch lookup of orders by storefront id reads one index entry
per id, however many orders the shop has and whatever PostgreSQL's statistics say
(migration 0005, ``OrderRepository._ids_by_external``)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_testkit.storefront import create_shop, shopify_headers, shopify_order
from order_intake.main import SPEC
from order_intake.models import Order
from order_intake.orders.repository import OrderRepository
from order_intake.webhooks.processor import WebhookProcessor

pytestmark = pytest.mark.integration

SECRET = "shpss_lookup_secret"
DOMAIN = "lookup-shop.myshopify.com"
HISTORY = 600  # the shop's earlier orders, written without statistics being gathered


def scans_of_orders(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == "orders" else []
    for child in plan.get("Plans", []):
        found += scans_of_orders(child)
    return found


async def clone_orders(db: Any, shop_id: str, first: int, count: int) -> None:
    """Copies of the one order there is, as ``shop_id``'s orders ``first``… (a shop's
    history, written without PostgreSQL gathering statistics)."""
    orders: Any = Order.__table__
    g = sa.func.generate_series(first, first + count - 1).table_valued("n").render_derived("g")
    copy = {
        "id": sa.func.gen_random_uuid(),
        "shop_id": sa.literal(uuid.UUID(shop_id)),
        "external_id": sa.cast(g.c.n, sa.String),
    }
    columns = list(orders.columns)
    async with db.transaction() as s:
        original = sa.select(orders).limit(1).subquery("original")
        await s.execute(
            orders.insert().from_select(
                [c.name for c in columns],
                sa.select(*[copy.get(c.name, original.c[c.name]) for c in columns])
                .select_from(original)
                .join(g, sa.true()),
            )
        )


async def test_looking_up_a_batch_probes_the_unique_index_once_per_id(
    start_service,  # type: ignore[no-untyped-def]
) -> None:
    svc = await start_service(SPEC, role="api")
    old_shop = await create_shop(svc.client, svc.admin_headers, domain=DOMAIN, secret=SECRET)
    body = shopify_order(id=1, name="#1")
    r = await svc.client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, SECRET, domain=DOMAIN)
    )
    assert r.json()["status"] == "accepted"
    assert await WebhookProcessor(svc.runtime).process_batch() == 1
    db = svc.runtime.db
    # statistics gathered while the deployment had one shop; then a new shop's first
    # burst: PostgreSQL believes the new shop has next to no orders
    await clone_orders(db, old_shop, 2, HISTORY)
    async with db.engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE orders"))
    new_shop = await create_shop(
        svc.client, svc.admin_headers, domain="new-" + DOMAIN, secret=SECRET
    )
    await clone_orders(db, new_shop, 1, HISTORY)

    # 40 of the new shop's orders and 60 it does not have, as a batch of webhooks asks
    wanted = [str(n) for n in range(HISTORY - 39, HISTORY + 1)]
    wanted += [str(n) for n in range(10_000, 10_060)]
    seen: dict[str, Any] = {}

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "unnest" in statement or "external_id IN" in statement:
            seen["sql"], seen["params"] = statement, parameters

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.transaction() as s:
            got = await OrderRepository(s).by_externals(uuid.UUID(new_shop), wanted)
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    assert sorted(o.external_id for o in got) == sorted(wanted[:40])
    assert {str(o.shop_id) for o in got} == {new_shop}

    async with db.transaction() as s:
        raw = (await (await s.connection()).get_raw_connection()).driver_connection
        [(plan,)] = await raw.fetch(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + seen["sql"], *seen["params"]
        )
    scans = scans_of_orders(plan[0]["Plan"] if isinstance(plan, list) else plan["Plan"])
    assert scans, plan
    for scan in scans:
        assert scan.get("Index Name") == "uq_orders_shop_id_external_id", scan
        assert scan.get("Rows Removed by Filter", 0) == 0, scan
    # one probe per id, at most one row each (rows are per probe): not the shop's 600
    assert sum(s["Actual Loops"] for s in scans) == len(wanted)
    assert all(s["Actual Rows"] <= 1 for s in scans)
