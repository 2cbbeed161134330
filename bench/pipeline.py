"""``make bench`` (after :mod:`bench.intake`): the whole order pipeline, end to end, with
the services as separate processes on PostgreSQL + RabbitMQ (distributed mode):

signed Shopify ``orders/create`` webhook → order-intake (``--role api`` + ``--role
worker``, as deployed under load) confirms it → ``order.confirmed`` → supplier-gateway
(``dropship serve supplier-gateway``) places the supplier order at a fake supplier on
our http protocol (a signed POST, the supplier's system checking the signature) → the
fake supplier ships it the moment it took it (``POST /v1/supplier/orders/{id}/ship``
with its key and a fresh S10 tracking number) → ``shipment.tracking_assigned`` →
order-intake writes the fulfilment to a fake Shopify Admin GraphQL API (the order's
fulfillment orders, then ``fulfillmentCreate``) and queues the buyer's e-mail.

The http-protocol supplier is the realistic one at this rate: CJdropshipping allows an
account 1-6 calls per second, so a CJ pipeline measures CJ's limit, not ours. The fake
Shopify's query-cost bucket is lifted for the same reason (a standard shop restores 50
points/s, about two fulfilments a second); both limits are kept by the adapters and
tested elsewhere.

Webhooks are sent at a fixed rate (``--rate``, default 200/s, above the 150/s target;
0: as fast as ``--concurrency`` allows), so the latencies are those of a pipeline
keeping up (or not) with that rate. For each order it measures, from the fakes' own
records: webhook → supplier order placed at the supplier, placed → tracking callback
answered, callback answered → fulfilment at the storefront, webhook → fulfilment; and
orders/s end to end (N / first webhook to last fulfilment). The load client, the fakes
and the bench run in this process; CPU seconds of every process are reported.

Prints one JSON document on stdout (progress on stderr) and writes it to
``bench/results/pipeline-<timestamp>.json``. Everything the run creates (two databases,
the exchange and queues, processes, temporary files) is removed at the end.

Usage: ``python -m bench.pipeline [-n N] [--rate R] [-c CONCURRENCY] [--warmup W]``
(defaults from ``BENCH_PIPELINE_N``, ``BENCH_PIPELINE_RATE``,
``BENCH_PIPELINE_CONCURRENCY``, ``BENCH_PIPELINE_WARMUP``: 500, 200, 32, 20).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.intake import (
    AMQP_URL,
    RETRY_DELAYS_MS,
    EventTap,
    LoadClient,
    Server,
    _cpu_times,
    cpu_by_program,
    cpu_seconds,
    free_port,
    fresh_database,
    machine_busy,
    percentile,
    run_bench,
    say,
    service_queue_names,
)
from bench.rawclient import Connection, HTTPClientError
from tests.system.harness import (
    SHOPIFY_TOKEN,
    FakeHttpSupplierServer,
    FakeShopify,
    Pipeline,
    Post,
    Shop,
)
from tests.system.support import DROPSHIP, service_env

SERVICES = ("order-intake", "supplier-gateway")
SHOP_DOMAIN = "bench-pipeline.myshopify.com"
TARGET_ORDERS_PER_S = 150.0
TARGET_P99_PLACED_S = 2.0


# -- the ship callbacks: a pool of lean keep-alive connections ------------------------


class ConnectionPool:
    """``bench.rawclient`` connections to one port, one request at a time each (httpx's
    pool would cost this process more CPU than the gateway spends on a callback)."""

    def __init__(self, port: int, size: int) -> None:
        self._all = [Connection("127.0.0.1", port, timeout=30.0) for _ in range(size)]
        self._free: asyncio.Queue[Connection] = asyncio.Queue()
        for conn in self._all:
            self._free.put_nowait(conn)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = await self._free.get()
        try:
            return await conn.post(path, body, headers)
        finally:
            self._free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()


# -- the load --------------------------------------------------------------------------


@dataclass
class Sent:
    at: float  # time.monotonic() just before the webhook was sent
    ok: bool = False
    latency_ms: float | None = None
    problem: str | None = None


async def send_webhooks(
    client: LoadClient,
    port: int,
    shop: Shop,
    ids: Sequence[int],
    concurrency: int,
    rate: float,
) -> dict[int, Sent]:
    """Each order's signed webhook, the i-th sent ``i / rate`` s after the first (or as
    fast as ``concurrency`` allows when ``rate`` is 0); bodies signed before timing."""
    requests = [(i, *Pipeline.webhook(shop, i)) for i in ids]
    sent: dict[int, Sent] = {}
    queue = iter(enumerate(requests))
    start = time.monotonic()

    async def worker() -> None:
        async with client.session(port) as post:
            for k, (order_id, body, headers) in queue:
                if rate > 0:
                    delay = start + k / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                s = sent[order_id] = Sent(time.monotonic())
                try:
                    status, answer = await post("/webhooks/shopify", body, headers)
                    s.ok = status == 200 and orjson.loads(answer).get("status") == "accepted"
                    s.problem = None if s.ok else f"{status}: {answer[:200]!r}"
                except (HTTPClientError, httpx.HTTPError, OSError, TimeoutError) as exc:
                    s.problem = f"{type(exc).__name__}: {exc}"
                s.latency_ms = (time.monotonic() - s.at) * 1000

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


# -- the processes ---------------------------------------------------------------------


@dataclass
class Stack:
    servers: dict[str, Server]
    intake_port: int
    gateway_port: int
    admin_token: str
    data: Path


@contextlib.asynccontextmanager
async def services(
    log_level: str,
    settings: dict[str, str],
    hx: httpx.AsyncClient,
    logdir: Path,
    dbs: dict[str, str],
    exchange: str,
    prefix: str,
    shopify_url: str,
) -> AsyncIterator[Stack]:
    admin_token = secrets.token_urlsafe(32)
    secret_key = secrets.token_urlsafe(32)
    ports = {"intake": free_port(), "intake-worker": free_port(), "gateway": free_port()}

    def env(db: str, port: int, data: str, **extra: str) -> dict[str, str]:
        more = {
            "DROPSHIP_QUEUE_PREFIX": prefix,
            "DROPSHIP_RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
            "DROPSHIP_LOG_LEVEL": log_level,
            # without SMTP the e-mails go to <data dir>/mail: keep them in the run's tmp
            "DROPSHIP_DATA_DIR": str(logdir / data),
            **extra,
            **settings,
        }
        return service_env(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
            bus_url=AMQP_URL,
            exchange=exchange,
            port=port,
            secret_key=secret_key,
            admin_token=admin_token,
            **more,
        )

    routes = {"DROPSHIP_STOREFRONT_ROUTES": f"{SHOP_DOMAIN}={shopify_url}"}
    intake_db, gateway_db = dbs["order-intake"], dbs["supplier-gateway"]
    plan = [
        (
            "order-intake-api",
            [DROPSHIP, "serve", "order-intake", "--migrate", "--role", "api"],
            env(intake_db, ports["intake"], "order-intake", **routes),
            ports["intake"],
        ),
        (
            "order-intake-worker",
            [DROPSHIP, "serve", "order-intake", "--role", "worker"],
            env(intake_db, ports["intake-worker"], "order-intake", **routes),
            ports["intake-worker"],
        ),
        (
            "supplier-gateway",
            [DROPSHIP, "serve", "supplier-gateway", "--migrate"],
            env(gateway_db, ports["gateway"], "supplier-gateway"),
            ports["gateway"],
        ),
    ]
    servers: dict[str, Server] = {}
    try:
        for name, argv, environ, port in plan:
            server = servers[name] = Server(name, argv, environ, logdir)
            await server.start()
            await server.wait_ready(hx, f"http://127.0.0.1:{port}/readyz")
        yield Stack(
            servers, ports["intake"], ports["gateway"], admin_token, logdir / "order-intake"
        )
    finally:
        for server in reversed(list(servers.values())):
            await server.stop()


# -- measuring -------------------------------------------------------------------------


def _ms(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 1) if ordered else None,
        "p99_ms": round(percentile(ordered, 99) * 1000, 1) if ordered else None,
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


@dataclass
class Timeline:
    webhook: float
    placed: float | None = None
    callback_answered: float | None = None
    fulfilled: float | None = None


@dataclass
class Observed:
    timelines: dict[int, Timeline]
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


def observe(
    sent: dict[int, Sent], supplier: FakeHttpSupplierServer, shopify: FakeShopify
) -> Observed:
    """Each order's timeline from the fakes' records, and what went wrong."""
    timelines = {i: Timeline(s.at) for i, s in sent.items()}
    errors = {
        "webhooks_refused": 0,
        "supplier_posts_not_taken": 0,
        "orders_posted_more_than_once": 0,
        "ship_callbacks_failed": len(supplier.ship_errors),
        "ship_callbacks_retried": 0,
        "orders_not_placed": 0,
        "orders_not_fulfilled": 0,
        "orders_fulfilled_more_than_once": 0,
    }
    samples = [s.problem for s in sent.values() if s.problem][:3] + supplier.ship_errors[:3]
    errors["webhooks_refused"] = sum(1 for s in sent.values() if not s.ok)
    posted: dict[str, int] = {}
    for seen in supplier.posts():
        so_id = seen.headers.get("webhook-id", "")
        posted[so_id] = posted.get(so_id, 0) + 1
        if seen.status not in (200, 201):
            errors["supplier_posts_not_taken"] += 1
            continue
        number = str((seen.json() or {}).get("notice", {}).get("order_number", ""))
        t = timelines.get(int(number.lstrip("#"))) if number.lstrip("#").isdigit() else None
        if t is not None and t.placed is None and seen.answered_at is not None:
            t.placed = seen.answered_at
    errors["orders_posted_more_than_once"] = sum(1 for c in posted.values() if c > 1)
    for shipped in supplier.shipped.values():
        number = shipped.order_number.lstrip("#")
        t = timelines.get(int(number)) if number.isdigit() else None
        if shipped.attempts > 1:
            errors["ship_callbacks_retried"] += 1
        if t is not None:
            t.callback_answered = shipped.answered_at
    for order_id, times in shopify.fulfilled_at().items():
        t = timelines.get(order_id)
        if t is None:
            continue
        t.fulfilled = min(times)
        if len(shopify.fulfillments(order_id)) > 1:
            errors["orders_fulfilled_more_than_once"] += 1
    errors["orders_not_placed"] = sum(1 for t in timelines.values() if t.placed is None)
    errors["orders_not_fulfilled"] = sum(1 for t in timelines.values() if t.fulfilled is None)
    return Observed(timelines, errors, samples)


async def wait_fulfilled(shopify: FakeShopify, ids: Sequence[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    wanted = set(ids)
    while time.monotonic() < deadline:
        done = {i for i in wanted if shopify.fake.orders[f"gid://shopify/Order/{i}"].fulfillments}
        wanted -= done
        if not wanted:
            return True
        await asyncio.sleep(0.05)
    return False


async def breakdown(
    pipeline: Pipeline, observed: Observed, wall_offset: float
) -> dict[str, dict[str, Any]]:
    """Where each order's time went inside the services, from their own timelines (read
    over the API after the run; wall-clock times mapped onto this process's monotonic
    clock with ``wall_offset`` = time.time() - time.monotonic())."""
    legs: dict[str, list[float]] = {
        "webhook_to_confirmed (order-intake)": [],
        "confirmed_to_supplier_order_opened (bus, supplier-gateway)": [],
        "opened_to_placed_at_supplier (placement worker)": [],
        "callback_answered_to_shipped (bus, order-intake)": [],
        "shipped_to_fulfilment_at_storefront (fulfilment worker)": [],
    }
    names = list(legs)
    limit = asyncio.Semaphore(8)

    def mono(at: str) -> float:
        return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() - wall_offset

    async def one(shopify_id: int, t: Timeline) -> None:
        async with limit:
            order = await pipeline.order_of(shopify_id, timeout=5)
            order = await pipeline.order(order["id"])
            [so] = await pipeline.supplier_orders(order["id"], timeout=5)
        moves = {e["to_status"]: mono(e["at"]) for e in order["timeline"] if e["to_status"]}
        confirmed, shipped, opened = moves.get("confirmed"), moves.get("shipped"), None
        opened = mono(so["created_at"])
        if confirmed is not None:
            legs[names[0]].append(confirmed - t.webhook)
            legs[names[1]].append(opened - confirmed)
        if t.placed is not None:
            legs[names[2]].append(t.placed - opened)
        if shipped is not None and t.callback_answered is not None:
            legs[names[3]].append(shipped - t.callback_answered)
        if shipped is not None and t.fulfilled is not None:
            legs[names[4]].append(t.fulfilled - shipped)

    await asyncio.gather(*(one(i, t) for i, t in observed.timelines.items()))
    return {name: _ms(values) for name, values in legs.items()}


async def shipped_mails(pipeline: Pipeline, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = len(pipeline.mails("has shipped"))
        if found >= expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


def cpu_of(servers: dict[str, Server]) -> dict[str, float | None]:
    return {name: cpu_seconds(s.pid) for name, s in servers.items()}


# -- main ------------------------------------------------------------------------------


def _env_num(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    p.add_argument("-n", type=int, default=int(_env_num("BENCH_PIPELINE_N", 500)))
    p.add_argument(
        "--rate",
        type=float,
        default=_env_num("BENCH_PIPELINE_RATE", 200),
        help="webhooks per second (0: as fast as the concurrency allows)",
    )
    p.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=int(_env_num("BENCH_PIPELINE_CONCURRENCY", 32)),
        help="webhooks in flight at most",
    )
    p.add_argument("--warmup", type=int, default=int(_env_num("BENCH_PIPELINE_WARMUP", 20)))
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the last")
    p.add_argument(
        "--keep-logs",
        metavar="DIR",
        help="write the processes' logs (and mail folders) to DIR and keep them",
    )
    p.add_argument("--log-level", default="WARNING", help="of the service processes")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="DROPSHIP_X=VALUE",
        help="a setting for every service process (repeatable), e.g. to try a tuning",
    )
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = dict(kv.split("=", 1) for kv in args.env)
    if any(not k.startswith("DROPSHIP_") for k in settings):
        raise SystemExit("--env takes DROPSHIP_NAME=VALUE")
    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    exchange = f"bench.{run_id}"
    prefix = f"bench.{run_id}."
    queues = service_queue_names(exchange, prefix, SERVICES)
    base_id = 6_000_000_000 + secrets.randbelow(10**9)
    warmup_ids = [base_id + i for i in range(args.warmup)]
    ids = [base_id + args.warmup + i for i in range(args.n)]
    busy_before = await machine_busy()

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        logdir = Path(args.keep_logs or tmp)
        logdir.mkdir(parents=True, exist_ok=True)
        async with contextlib.AsyncExitStack() as stack:
            hx = await stack.enter_async_context(httpx.AsyncClient(timeout=60.0))
            shopify = await stack.enter_async_context(FakeShopify(unthrottled=True).running())
            supplier = await stack.enter_async_context(FakeHttpSupplierServer().running())
            dbs = {
                s: await stack.enter_async_context(
                    fresh_database(f"bench_{s.replace('-', '_')}_{run_id}")
                )
                for s in SERVICES
            }
            # the run's queues and exchange go when the stack unwinds (after the processes)
            stack.push_async_callback(EventTap(exchange, f"{prefix}tap").close, queues)
            procs = await stack.enter_async_context(
                services(args.log_level, settings, hx, logdir, dbs, exchange, prefix, shopify.url)
            )
            pipeline = Pipeline(
                intake=f"http://127.0.0.1:{procs.intake_port}",
                gateway=f"http://127.0.0.1:{procs.gateway_port}",
                admin_token=procs.admin_token,
                mail_dir=procs.data / "mail",
            )
            stack.push_async_callback(pipeline.aclose)
            shop = await pipeline.add_shop(SHOP_DOMAIN, SHOPIFY_TOKEN)
            sid = await pipeline.add_supplier("Bench Supplier", "http", supplier.credentials())
            await pipeline.map(shop, sid, ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"))
            key = await pipeline.supplier_key(sid)
            pool = ConnectionPool(procs.gateway_port, size=16)
            stack.push_async_callback(pool.close)
            ship: Post = pool.post
            supplier.ship_at_once(ship, key)
            for i in (*warmup_ids, *ids):
                shopify.add_order(i)
            client = LoadClient("raw", hx)

            say(f"warm-up: {len(warmup_ids)} orders")
            warm = await send_webhooks(client, procs.intake_port, shop, warmup_ids, 8, 0)
            if not all(s.ok for s in warm.values()):
                raise RuntimeError(f"warm-up refused: {[s.problem for s in warm.values()][:3]}")
            if not await wait_fulfilled(shopify, warmup_ids, args.timeout):
                raise RuntimeError("warm-up: not every order reached the storefront")

            say(f"pipeline: {args.n} orders at {args.rate or 'max'}/s")
            cpu0, others0, own0 = cpu_of(procs.servers), cpu_by_program(), time.process_time()
            machine0 = _cpu_times()
            sent = await send_webhooks(
                client, procs.intake_port, shop, ids, args.concurrency, args.rate
            )
            all_done = await wait_fulfilled(shopify, ids, args.timeout)
            cpu1, others1, own1 = cpu_of(procs.servers), cpu_by_program(), time.process_time()
            machine1 = _cpu_times()
            if not all_done:
                say("pipeline: not every order reached the storefront in time")
            observed = observe(sent, supplier, shopify)
            say("reading the services' timelines")
            inside = await breakdown(pipeline, observed, time.time() - time.monotonic())
            # the buyer's "shipped" e-mails (written by order-intake's mailer, which gives
            # way to confirming orders, so they may trail the fulfilments)
            mails = await shipped_mails(pipeline, len(warmup_ids) + len(ids), 30.0)

    t = observed.timelines.values()
    first_webhook = min(x.webhook for x in t)
    fulfilled = [x.fulfilled for x in t if x.fulfilled is not None]
    span = (max(fulfilled) - first_webhook) if fulfilled else None
    legs = {
        "webhook_to_placed": _ms([x.placed - x.webhook for x in t if x.placed]),
        "placed_to_tracking_callback_answered": _ms(
            [x.callback_answered - x.placed for x in t if x.callback_answered and x.placed]
        ),
        "callback_to_fulfilment_at_storefront": _ms(
            [x.fulfilled - x.callback_answered for x in t if x.fulfilled and x.callback_answered]
        ),
        "webhook_to_fulfilment": _ms([x.fulfilled - x.webhook for x in t if x.fulfilled]),
    }
    webhook_ms = sorted(s.latency_ms for s in sent.values() if s.latency_ms is not None)
    sending_s = max(s.at for s in sent.values()) - first_webhook
    orders_per_s = len(fulfilled) / span if span else 0.0
    p99_placed = legs["webhook_to_placed"]["p99_ms"]
    cpu: dict[str, float | None] = {}
    for name, before in cpu0.items():
        after = cpu1.get(name)
        cpu[name] = None if before is None or after is None else round(after - before, 2)
    cpu["bench (load client, fakes)"] = round(own1 - own0, 2)
    cpu.update(
        {f"{k} (all processes)": round(others1[k] - others0.get(k, 0.0), 2) for k in others1}
    )
    cpu_ms_per_order = {
        k: None if v is None else round(v / args.n * 1000, 2) for k, v in cpu.items()
    }
    warnings = []
    if busy_before is not None and busy_before > 0.15:
        warnings.append(
            f"the CPUs were {busy_before:.0%} busy just before the run: something else was "
            "running, the figures are not comparable"
        )
    if not all_done:
        warnings.append(f"not every order reached the storefront within {args.timeout}s")
    return {
        "n": args.n,
        "warmup": args.warmup,
        "offered_rate_per_s": args.rate or None,
        "concurrency": args.concurrency,
        "orders_per_s_end_to_end": round(orders_per_s, 1),
        "first_webhook_to_last_fulfilment_s": None if span is None else round(span, 3),
        "webhooks_sent_in_s": round(sending_s, 3),
        "webhook_answer": {
            "p50_ms": round(percentile(webhook_ms, 50), 2) if webhook_ms else None,
            "p99_ms": round(percentile(webhook_ms, 99), 2) if webhook_ms else None,
        },
        "legs": legs,
        "inside_the_services": inside,
        "errors": observed.errors,
        "error_samples": observed.samples,
        "buyer_shipped_mails_incl_warmup": mails,
        "cpu_seconds": cpu,  # from the first measured webhook to the last fulfilment
        "cpu_ms_per_order": cpu_ms_per_order,
        "targets": {
            "orders_per_s_end_to_end_min": TARGET_ORDERS_PER_S,
            "p99_webhook_to_placed_max_s": TARGET_P99_PLACED_S,
            "met": {
                "orders_per_s": orders_per_s >= TARGET_ORDERS_PER_S,
                "p99_webhook_to_placed": p99_placed is not None
                and p99_placed / 1000 < TARGET_P99_PLACED_S,
                "no_errors": not any(
                    v for k, v in observed.errors.items() if k != "ship_callbacks_retried"
                ),
            },
        },
        "setup": {
            "settings": settings,
            "processes": {
                "order-intake-api": "dropship serve order-intake --role api",
                "order-intake-worker": "dropship serve order-intake --role worker",
                "supplier-gateway": "dropship serve supplier-gateway",
            },
            "supplier": "fake http-protocol supplier (signed POST verified; ships at once)",
            "storefront": "fake Shopify Admin GraphQL, query-cost bucket lifted",
            "load_client": client.describe(),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_busy_before": None if busy_before is None else round(busy_before, 3),
            # all processes of the machine, from the first webhook to the last fulfilment
            "cpu_busy_during": round(
                (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1]), 3
            ),
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "warnings": warnings,
    }


def run(argv: Sequence[str] | None = None) -> int:
    return run_bench("pipeline", main, parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
