"""``make bench``: aftersales' figures (issue 14 §7), on PostgreSQL (+ RabbitMQ).

1. **Policy evaluations per second**: :func:`aftersales.domain.policy.evaluate` over a
   mix of every case type and shop policies (pure, one core).
2. **GET /v1/cases at scale**: ``--cases`` cases (default 100,000) seeded by ``COPY``
   over 200 shops, every status and type, a year of opening dates; aftersales runs as
   a separate process (``dropship serve aftersales``) and each listing the agents use
   (all, by status, by shop, by type, by assignee, overdue, a shop's open ones) is asked
   ``--requests`` times: p50 / p99 ms, and the plan of each query.

3. **Refunds per second** against the fake storefronts, as order-intake's credit worker
   makes them (the plugins' ``refund``, ``--refunds`` each at Shopify and WooCommerce,
   16 in flight): one answer in ten is lost after the fake committed, and that refund is
   sent again the way the worker does (``may_exist``: Shopify's ``@idempotent`` key and
   the lookup of the case's refund; WooCommerce's list of the order's refunds first);
   exactly once is checked (every order one refund).

Prints one JSON document on stdout (progress on stderr) and writes it to
``bench/results/aftersales-<timestamp>.json``; the database is dropped at the end.
Usage: ``python -m bench.aftersales [--cases N] [--requests N] [--evaluations N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.intake import (
    AMQP_URL,
    PG_DSN,
    RESULTS,
    Server,
    free_port,
    fresh_database,
    percentile,
    running,
    say,
)
from tests.system.support import DROPSHIP, service_env

SHOPS = 200
STATUSES = [
    ("resolved", 40), ("rejected", 8), ("withdrawn", 4), ("proposed", 20), ("open", 6),
    ("awaiting_buyer", 8), ("approved", 2), ("resolving", 12),
]  # fmt: skip
TYPES = [
    "lost", "damaged", "wrong_item", "wrong_size", "quantity_short", "delayed",
    "not_as_described", "returned_to_sender", "held_by_customs", "not_delivered_in_time",
]  # fmt: skip


def db_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://")
    return f"{base}/{name}"


def migrate(name: str) -> None:
    from aftersales.main import SPEC  # noqa: F401  (the service's tables)
    from dropship_cli.services import migrations_dir
    from dropship_common.migrate import upgrade_sync

    upgrade_sync(migrations_dir("aftersales"), db_url(name))


def evaluations(n: int) -> dict[str, Any]:
    from aftersales.domain.cases import CaseType
    from aftersales.domain.policy import CaseFacts, Policy, evaluate

    policies = [
        Policy(),
        Policy(
            refund_without_return_under={"EUR": Decimal("25")},
            operator_approval_limit={"EUR": Decimal("50")},
            auto_approve_under={"EUR": Decimal("10")},
            postage_estimate={"EUR": Decimal("6")},
        ),
    ]
    rng = random.Random(7)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    facts = [
        CaseFacts(
            type=rng.choice(list(CaseType)),
            currency="EUR",
            claimed_value=Decimal(rng.randint(500, 20000)) / 100,
            refundable=Decimal(rng.randint(0, 30000)) / 100,
            reported_at=now,
            evidence=frozenset(rng.choice([(), ("photo",)])),
            delivered_at=now - dt.timedelta(days=rng.randint(0, 60)),
            window_closes_on=(now + dt.timedelta(days=rng.randint(-30, 30))).date(),
            reship_cost=rng.choice([None, Decimal(rng.randint(300, 9000)) / 100]),
        )
        for _ in range(1000)
    ]
    start = time.perf_counter()
    for i in range(n):
        evaluate(facts[i % len(facts)], policies[i % 2])
    seconds = time.perf_counter() - start
    return {"evaluations": n, "seconds": round(seconds, 3), "per_second": round(n / seconds)}


async def seed(conn: asyncpg.Connection, n: int, shops: Sequence[uuid.UUID]) -> float:
    """``n`` cases by COPY, two timeline rows each. Seconds taken."""
    start = time.perf_counter()
    rng = random.Random(11)
    now = dt.datetime.now(dt.UTC)
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    cases, events = [], []
    for _ in range(n):
        case_id, order_id = uuid.uuid4(), uuid.uuid4()
        status = rng.choice(statuses)
        opened = now - dt.timedelta(minutes=rng.randint(0, 525_600))
        since = opened + dt.timedelta(hours=rng.randint(0, 48))
        open_step = status in ("open", "proposed", "approved", "resolving")
        due = since + dt.timedelta(days=rng.choice([1, 2, 3])) if open_step else None
        proposal = json.dumps(
            {"resolution": "refund", "amount": "12.00", "cost": "12.00",
             "approver": "operator", "auto_approve": False, "rules": []}
        )  # fmt: skip
        cases.append((
            case_id, order_id, rng.choice(shops), rng.choice(TYPES), status,
            f"parcel:{uuid.uuid4()}", "rule:logistics", "EUR", Decimal("12.00"),
            json.dumps([{"line_id": str(uuid.uuid4()), "quantity": 1}]), None, "[]", proposal,
            1, rng.choice([None, None, None, "ana", "li", "sam"]), since, due, opened, since,
            None, None,
        ))  # fmt: skip
        events.append((case_id, opened, "opened", None, "open", "lost", "rule", "message:x"))
        events.append((case_id, since, "status", "open", status, "", "policy", "message:x"))
    await conn.copy_records_to_table(
        "cases",
        records=cases,
        columns=[
            "id", "order_id", "shop_id", "type", "status", "source_key", "opened_by",
            "currency", "claimed_value", "lines", "buyer_words", "evidence", "proposal",
            "policy_version", "assignee", "status_since", "due_by", "created_at",
            "updated_at", "return_info", "supplier_order_id",
        ],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "case_events",
        records=events,
        columns=[
            "case_id",
            "at",
            "kind",
            "from_status",
            "to_status",
            "reason",
            "actor",
            "cause",
        ],
    )
    await conn.execute("ANALYZE cases; ANALYZE case_events")
    return time.perf_counter() - start


@contextlib.asynccontextmanager
async def aftersales_process(name: str, admin: str) -> AsyncIterator[str]:
    logdir = Path(tempfile.mkdtemp(prefix="bench-aftersales-"))
    port = free_port()
    env = service_env(
        database_url=db_url(name), bus_url=AMQP_URL,
        exchange=f"bench.aftersales.{secrets.token_hex(4)}", port=port,
        secret_key=secrets.token_urlsafe(32), admin_token=admin,
        DROPSHIP_QUEUE_PREFIX=f"bench{secrets.token_hex(3)}", DROPSHIP_LOG_LEVEL="WARNING",
        DROPSHIP_DATA_DIR=str(logdir),
    )  # fmt: skip
    server = Server("aftersales", [DROPSHIP, "serve", "aftersales"], env, logdir)
    async with running(server), httpx.AsyncClient() as hx:
        base = f"http://127.0.0.1:{port}"
        await server.wait_ready(hx, f"{base}/readyz")
        yield base


async def listings(
    base: str, admin: str, shops: Sequence[uuid.UUID], requests: int
) -> dict[str, Any]:
    rng = random.Random(3)
    queries: dict[str, Any] = {
        "all": lambda: "",
        "by_status": lambda: f"status={rng.choice(['proposed', 'resolving', 'open'])}",
        "by_shop": lambda: f"shop_id={rng.choice(shops)}",
        "by_shop_and_status": lambda: f"shop_id={rng.choice(shops)}&status=proposed",
        "by_type": lambda: f"type={rng.choice(TYPES)}",
        "by_assignee": lambda: f"assignee={rng.choice(['ana', 'li', 'sam'])}",
        "overdue": lambda: "overdue=true",
    }
    out: dict[str, Any] = {}
    headers = {"authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as hx:
        for name, query in queries.items():
            times, sizes = [], []
            for _ in range(requests):
                start = time.perf_counter()
                r = await hx.get(f"/v1/cases?{query()}")
                times.append((time.perf_counter() - start) * 1000)
                r.raise_for_status()
                sizes.append(len(r.json()["cases"]))
            times.sort()
            out[name] = {
                "p50_ms": round(percentile(times, 50), 2),
                "p99_ms": round(percentile(times, 99), 2),
                "cases_per_page": round(sum(sizes) / len(sizes), 1),
            }
            say(f"GET /v1/cases {name}: p99 {out[name]['p99_ms']} ms")
    return out


async def plans(conn: asyncpg.Connection, shop: uuid.UUID) -> dict[str, str]:
    """The top node of each listing's plan, as PostgreSQL runs it."""
    order = "ORDER BY created_at DESC, id LIMIT 50"
    sql = {
        "all": f"SELECT id FROM cases {order}",
        "by_shop": f"SELECT id FROM cases WHERE shop_id = '{shop}' {order}",
        "by_status": f"SELECT id FROM cases WHERE status = 'proposed' {order}",
        "overdue": f"SELECT id FROM cases WHERE due_by < now() {order}",
    }
    found = {}
    for name, query in sql.items():
        rows = await conn.fetch(f"EXPLAIN {query}")
        found[name] = " / ".join(r[0].strip() for r in rows if "Scan" in r[0])[:200]
    return found


async def _refund_all(
    plugin: Any, drop: Callable[[], None], n: int, in_flight: int
) -> tuple[float, int]:
    """Refund 10.00 on orders 1..n, one answer in ten lost; seconds and answers lost."""
    from order_intake.fulfilment.base import CreditRequest, StorefrontUnavailable

    gate = asyncio.Semaphore(in_flight)
    lost = 0

    async def one(i: int) -> None:
        nonlocal lost
        case = uuid.uuid4()
        request = CreditRequest(
            credit_id=uuid.uuid4(), case_id=case, key=str(uuid.uuid5(case, "refund")),
            order_external_id=str(i), amount=Decimal("10.00"), currency="USD",
            reason=f"bench (case {case})",
        )  # fmt: skip
        async with gate:
            if i % 10 == 0:
                drop()
            for _ in range(5):
                try:
                    await plugin.refund(request)
                    return
                except StorefrontUnavailable:  # as the worker: again, looking first
                    lost += 1
                    request = dataclasses.replace(request, may_exist=True)
            raise RuntimeError(f"order {i}: no refund after 5 attempts")

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(1, n + 1)))
    return time.perf_counter() - start, lost


async def refunds_phase(n: int, in_flight: int = 16) -> dict[str, Any]:
    from dropship_common.http import OutboundPolicy, make_client
    from dropship_testkit.fakes import FakeNetwork, FakeShopifyAdmin, FakeWooCommerce
    from order_intake.fulfilment.base import ShopAccess
    from order_intake.fulfilment.shopify import ShopifyFulfilment
    from order_intake.fulfilment.woocommerce import WooCommerceFulfilment

    shopify = FakeShopifyAdmin("tok", maximum_available=1e12, restore_rate=1e12)
    woo = FakeWooCommerce("ck", "cs")
    for i in range(1, n + 1):
        shopify.add_order(i, {i: 1}, paid="100.00", currency="USD")
        woo.add_order(i)
        woo.set_payment(i, "100.00", "USD")
    hosts = {"shopify": "bench.myshopify.com", "woocommerce": "bench-woo.example.com"}
    net = FakeNetwork({hosts["shopify"]: shopify, hosts["woocommerce"]: woo})
    out: dict[str, Any] = {}
    for name in ("shopify", "woocommerce"):
        host = hosts[name]
        policy = OutboundPolicy(allowed_hosts={host}, allowed_schemes=frozenset({"https"}))
        client = make_client(policy, base_url=f"https://{host}", transport=net)
        if name == "shopify":
            access = ShopAccess(uuid.uuid4(), name, host, {"access_token": "tok"})
            plugin: Any = ShopifyFulfilment(client, access)
            seconds, lost = await _refund_all(
                plugin, lambda: shopify.fail_next("refundCreate", "drop_response"), n, in_flight
            )
            counts = [len(shopify.refunds(i)) for i in range(1, n + 1)]
            sends = len(shopify.operations("refundCreate"))
        else:
            creds = {"consumer_key": "ck", "consumer_secret": "cs"}
            plugin = WooCommerceFulfilment(client, ShopAccess(uuid.uuid4(), name, host, creds))
            seconds, lost = await _refund_all(
                plugin, lambda: woo.fail_next("refunds", "drop_response"), n, in_flight
            )
            counts = [len(woo.refunds(i)) for i in range(1, n + 1)]
            sends = sum(1 for m, path in woo.calls if m == "POST" and path.endswith("/refunds"))
        await client.aclose()
        out[name] = {
            "refunds": n,
            "seconds": round(seconds, 2),
            "per_second": round(n / seconds, 1),
            # Shopify's client sends refundCreate again itself (the key makes it safe);
            # WooCommerce's refund is looked up by the worker's next attempt
            "refund_calls": sends,
            "retried_by_the_worker": lost,
            "exactly_once": all(c == 1 for c in counts),
        }
        say(f"refunds at {name}: {out[name]['per_second']}/s, exactly once: "
            f"{out[name]['exactly_once']}")  # fmt: skip
    await net.aclose()
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.aftersales")
    p.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_CASES", 100_000)))
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--evaluations", type=int, default=200_000)
    p.add_argument("--refunds", type=int, default=2000)
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "bench": "aftersales",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "cases": args.cases,
    }
    result["policy"] = evaluations(args.evaluations)
    say(f"policy: {result['policy']['per_second']} evaluations/s")
    result["refunds"] = await refunds_phase(args.refunds)
    name = f"bench_aftersales_{secrets.token_hex(4)}"
    admin = secrets.token_urlsafe(32)
    async with fresh_database(name):
        await asyncio.to_thread(migrate, name)
        conn = await asyncpg.connect(db_url(name, "postgresql"))
        try:
            shops = [uuid.uuid4() for _ in range(SHOPS)]
            result["seed_seconds"] = round(await seed(conn, args.cases, shops), 1)
            result["plans"] = await plans(conn, shops[0])
            async with aftersales_process(name, admin) as base:
                result["list_cases"] = await listings(base, admin, shops, args.requests)
        finally:
            await conn.close()
    return result


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    import structlog

    # the clients' log lines go to stderr with the progress: stdout is the JSON
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    result = asyncio.run(main(parse_args(argv)))
    text = json.dumps(result, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"aftersales-{stamp}.json").write_text(text)
    return result


if __name__ == "__main__":
    run(sys.argv[1:])
