"""``make bench`` (after :mod:`bench.pipeline`): orders under faults, each must end placed
exactly once at its supplier and written back exactly once to the storefront.

N orders (default 400) are sent as signed Shopify ``orders/create`` webhooks (at
``--rate`` per second; each one resent a second later while not accepted, as Shopify
retries) through ``dropship serve order-intake`` and ``dropship serve
supplier-gateway`` (distributed mode), half to a shop whose supplier is the
CJdropshipping fake, half to one whose supplier is on our http protocol; the suppliers
ship what they took (:mod:`bench.supplier_faults`) and the fake Shopify receives the
fulfilments. During the run:

* the suppliers' order-creating calls fail now and then (seeded, ``--seed``): HTTP 500,
  429 with ``Retry-After``, the reply lost after the supplier created the order (held
  past the gateway's timeout, or the connection dropped after the status line);
* supplier-gateway is SIGKILLed while a placement call is out (mid-batch) and started
  again, twice (``--kill-at``);
* PostgreSQL is stopped at once (``pg_ctl stop -m immediate``) and started again
  (``--pg-restart-at``);
* the RabbitMQ node is halted and booted again (``--rabbit-restart-at``).

PostgreSQL and RabbitMQ are instances of the run's own
(:mod:`dropship_testkit.private_infra`): the machine's shared ones are not
touched. The run then waits (at most
``--settle-timeout`` seconds after the last fault) until every order is written back,
and reports, per order: placed exactly once / more than once / not at all (with the
gateway's status of what was not placed, and why: its last error and placement
attempts), written back exactly once / more / missing, and the time to settle.
Exit status 1 when any order did not end placed once and written back once.

The settings are scaled so a run takes minutes, not hours: supplier timeout 2 s,
placement lease 10 s, retries from 0.5 s capped at 5 s, open orders looked up at the
supplier every 15 s (a lost webhook's tracking is found that way), CJ's webhook
retries 5 s apart instead of 5 minutes.

Prints one JSON document on stdout (progress on stderr) and writes it to
``bench/results/faults-<timestamp>.json``.

Usage: ``python -m bench.faults [-n N] [--rate R] [--seed S] [--keep-logs DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.intake import RESULTS, ROOT, say
from bench.supplier_faults import (
    CJ_CREATE,
    CreateFaults,
    Shipper,
    cj_documented_not_found,
)
from dropship_testkit.private_infra import (
    PrivatePostgres,
    PrivateRabbit,
    listen_port,
    private_instances,
)
from tests.system.harness import (
    SHOPIFY_LINES,
    SHOPIFY_TOKEN,
    FakeCJSupplier,
    FakeHttpSupplierServer,
    FakeShopify,
    Pipeline,
    Shop,
)
from tests.system.support import DROPSHIP, service_env

SERVICES = ("order-intake", "supplier-gateway")
SUPPLIER_TIMEOUT_S = 2.0
GATEWAY_SETTINGS = {
    "DROPSHIP_PLACEMENT_POLL_SECONDS": "0.5",
    "DROPSHIP_PLACEMENT_RETRY_BASE_SECONDS": "0.5",
    "DROPSHIP_PLACEMENT_RETRY_CAP_SECONDS": "5",
    "DROPSHIP_PLACEMENT_LEASE_SECONDS": "10",
    "DROPSHIP_SUPPLIER_TIMEOUT_SECONDS": str(SUPPLIER_TIMEOUT_S),
    "DROPSHIP_SUPPLIER_BREAKER_COOLDOWN_SECONDS": "1",
    "DROPSHIP_SUPPLIER_SYNC_SECONDS": "15",
}
COMMON_SETTINGS = {
    "DROPSHIP_OUTBOX_POLL_SECONDS": "0.2",
    "DROPSHIP_RETRY_DELAYS_MS": "[200, 1000, 5000]",
    "DROPSHIP_LOG_LEVEL": "INFO",
}
FAULT_MIX = {"500": 0.06, "429": 0.06, "lost_timeout": 0.03, "lost_drop": 0.03}
WEBHOOK_RETRY_FOR_S = 300.0


# -- the service processes -------------------------------------------------------------


@dataclass
class Service:
    """``dropship serve <name>`` in its own process group, its output appended to a log."""

    name: str
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.starts} at {dt.datetime.now(dt.UTC)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [DROPSHIP, "serve", self.name, "--migrate"],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, client: httpx.AsyncClient, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}: see {self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout}s: see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 15)
        except TimeoutError:
            self.kill()


@contextlib.asynccontextmanager
async def services(
    pg: PrivatePostgres,
    mq: PrivateRabbit,
    logs: Path,
    client: httpx.AsyncClient,
    routes: str,
    cj_url: str,
) -> AsyncIterator[dict[str, Service]]:
    conn = await asyncpg.connect(pg.dsn)
    try:
        for name in SERVICES:
            await conn.execute(f'CREATE DATABASE "{name.replace("-", "_")}"')
    finally:
        await conn.close()
    admin_token, secret_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    extra = {
        "order-intake": {"DROPSHIP_STOREFRONT_ROUTES": routes},
        "supplier-gateway": {"DROPSHIP_CJ_BASE_URL": cj_url, **GATEWAY_SETTINGS},
    }
    procs: dict[str, Service] = {}
    for name in SERVICES:
        port = listen_port()
        env = service_env(
            database_url=pg.url(name.replace("-", "_")),
            bus_url=mq.url,
            exchange="dropship.events",
            port=port,
            secret_key=secret_key,
            admin_token=admin_token,
            DROPSHIP_DATA_DIR=str(logs / name),
            **COMMON_SETTINGS,
            **extra[name],
        )
        procs[name] = Service(name, env, port, logs / f"{name}.log")
    try:
        for proc in procs.values():  # one after the other: both migrate their database
            proc.start()
            await proc.ready(client)
        yield procs
    finally:
        for proc in procs.values():
            await proc.stop()


# -- the load: webhooks resent until accepted ------------------------------------------


@dataclass
class Webhook:
    shopify_id: int
    shop: str  # "cj" | "http"
    sent_at: float = 0.0
    accepted_at: float | None = None
    attempts: int = 0
    answers: list[tuple[float, str]] = field(default_factory=list)  # (when, answer)


async def send_webhooks(
    client: httpx.AsyncClient,
    intake: str,
    shops: dict[str, Shop],
    hooks: list[Webhook],
    rate: float,
    start: float,
) -> None:
    async def one(k: int, hook: Webhook) -> None:
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        body, headers = Pipeline.webhook(shops[hook.shop], hook.shopify_id)
        hook.sent_at = time.monotonic()
        while time.monotonic() - hook.sent_at < WEBHOOK_RETRY_FOR_S:
            hook.attempts += 1
            try:
                r = await client.post(f"{intake}/webhooks/shopify", content=body, headers=headers)
                hook.answers.append((time.monotonic(), str(r.status_code)))
                if r.status_code == 200:
                    hook.accepted_at = time.monotonic()
                    return
            except httpx.HTTPError as exc:
                hook.answers.append((time.monotonic(), type(exc).__name__))
            await asyncio.sleep(1.0)

    await asyncio.gather(*(one(k, h) for k, h in enumerate(hooks)))


# -- the faults ------------------------------------------------------------------------


@dataclass
class FaultLog:
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, at: float, kind: str, **details: Any) -> None:
        self.events.append({"at_s": round(at, 1), "fault": kind, **details})
        say(f"fault at {at:.1f}s: {kind} {details or ''}")


async def kill_gateway_mid_batch(
    gateway: Service,
    client: httpx.AsyncClient,
    injectors: Sequence[CreateFaults],
    log: FaultLog,
    start: float,
) -> None:
    """SIGKILL while a placement call is out at a supplier (waited for, 10 s at most),
    started again a second later."""
    deadline = time.monotonic() + 10
    while not any(i.in_flight for i in injectors) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    out = sum(i.in_flight for i in injectors)
    gateway.kill()
    killed_at = time.monotonic()
    await asyncio.sleep(1.0)
    gateway.start()
    await gateway.ready(client)
    log.add(
        killed_at - start,
        "supplier-gateway SIGKILLed",
        placement_calls_out=out,
        back_after_s=round(time.monotonic() - killed_at, 1),
    )


async def run_faults(
    args: argparse.Namespace,
    gateway: Service,
    client: httpx.AsyncClient,
    injectors: Sequence[CreateFaults],
    pg: PrivatePostgres,
    mq: PrivateRabbit,
    start: float,
) -> FaultLog:
    log = FaultLog()
    plan: list[tuple[float, str]] = [(t, "kill") for t in args.kill_at]
    plan += [(args.pg_restart_at, "postgres"), (args.rabbit_restart_at, "rabbitmq")]
    for at, kind in sorted(plan):
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        began = time.monotonic()
        if kind == "kill":
            await kill_gateway_mid_batch(gateway, client, injectors, log, start)
        elif kind == "postgres":
            await pg.restart(down_seconds=3.0)
            log.add(
                began - start,
                "PostgreSQL stopped (immediate) and started",
                down_s=round(time.monotonic() - began, 1),
            )
        else:
            await mq.restart(down_seconds=3.0)
            log.add(
                began - start,
                "RabbitMQ node halted and booted",
                down_s=round(time.monotonic() - began, 1),
            )
    return log


# -- the outcome -----------------------------------------------------------------------


async def _rows(pg: PrivatePostgres, database: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(pg.dsn.rsplit("/", 1)[0] + f"/{database}")
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


def written_back(shopify: FakeShopify, ids: Sequence[int]) -> dict[int, int]:
    return {i: len(shopify.fulfillments(i)) for i in ids}


async def wait_settled(shopify: FakeShopify, ids: Sequence[int], deadline: float) -> float | None:
    """When every order had a fulfilment (monotonic), or None at the deadline."""
    while time.monotonic() < deadline:
        if all(n >= 1 for n in written_back(shopify, ids).values()):
            return time.monotonic()
        await asyncio.sleep(0.25)
    return None


async def outcome(
    pg: PrivatePostgres,
    hooks: dict[int, Webhook],
    shopify: FakeShopify,
    at_suppliers: dict[str, set[str]],
) -> dict[str, Any]:
    """Per order: placed how many times, written back how many times, and for those that
    went wrong, the gateway's view of their supplier orders."""
    orders = await _rows(pg, "order_intake", "SELECT id, external_id, status FROM orders")
    sos = await _rows(
        pg,
        "supplier_gateway",
        "SELECT so.id, so.order_id, so.status, so.place_attempts, so.needs_lookup, "
        "so.last_error, so.supplier_ref, s.adapter FROM supplier_orders so "
        "JOIN suppliers s ON s.id = so.supplier_id",
    )
    by_order: dict[str, list[asyncpg.Record]] = {}
    for so in sos:
        by_order.setdefault(str(so["order_id"]), []).append(so)
    intake = {int(o["external_id"]): o for o in orders}
    fulfilled = written_back(shopify, list(hooks))
    placed_counts: Counter[str] = Counter()
    written_counts: Counter[str] = Counter()
    not_placed_status: Counter[str] = Counter()
    wrong: list[dict[str, Any]] = []
    for shopify_id, hook in hooks.items():
        order = intake.get(shopify_id)
        rows = by_order.get(str(order["id"]), []) if order else []
        taken = [r for r in rows if str(r["id"]) in at_suppliers[r["adapter"]]]
        placed = "once" if len(taken) == 1 else "not_placed" if not taken else "more_than_once"
        placed_counts[placed] += 1
        n = fulfilled[shopify_id]
        written = "once" if n == 1 else "missing" if n == 0 else "more_than_once"
        written_counts[written] += 1
        if placed == "not_placed":
            status = (
                rows[0]["status"]
                if rows
                else ("no order" if order is None else "no supplier order")
            )
            not_placed_status[status] += 1
        if placed != "once" or written != "once":
            wrong.append(
                {
                    "shopify_id": shopify_id,
                    "shop": hook.shop,
                    "webhook_accepted": hook.accepted_at is not None,
                    "order_status": order["status"] if order else None,
                    "placed": placed,
                    "written_back": n,
                    "supplier_orders": [
                        {
                            "id": str(r["id"]),
                            "adapter": r["adapter"],
                            "status": r["status"],
                            "at_supplier": str(r["id"]) in at_suppliers[r["adapter"]],
                            "place_attempts": r["place_attempts"],
                            "needs_lookup": r["needs_lookup"],
                            "last_error": r["last_error"],
                        }
                        for r in rows
                    ],
                }
            )
    went_through = await _rows(
        pg,
        "supplier_gateway",
        "SELECT (SELECT count(DISTINCT supplier_order_id) FROM supplier_order_events "
        "WHERE to_status = 'needs_attention') AS needs_attention, "
        "(SELECT count(*) FROM supplier_order_events WHERE kind = 'placement_attempt' "
        "AND details ->> 'found_by_lookup' = 'true') AS found_by_lookup",
    )
    causes: Counter[str] = Counter()
    for w in wrong:
        for so in w["supplier_orders"] or [{}]:
            causes[
                f"{so.get('adapter')} {so.get('status')} needs_lookup={so.get('needs_lookup')} "
                f"at_supplier={so.get('at_supplier')} written_back={w['written_back']}: "
                f"{(so.get('last_error') or '')[:80]}"
            ] += 1
    return {
        "placed": dict(placed_counts),
        "not_placed_by_gateway_status": dict(not_placed_status),
        "wrong_by_cause": dict(causes),
        "supplier_orders_ever_needs_attention": went_through[0]["needs_attention"],
        "placements_found_by_lookup": went_through[0]["found_by_lookup"],
        "written_back": dict(written_counts),
        "wrong": wrong,
    }


async def timeline_of(pg: PrivatePostgres, supplier_order_id: str) -> list[dict[str, Any]]:
    rows = await _rows(
        pg,
        "supplier_gateway",
        "SELECT at, kind, details FROM supplier_order_events "
        f"WHERE supplier_order_id = '{supplier_order_id}' ORDER BY at",
    )
    found = []
    for r in rows:
        details = r["details"]
        if isinstance(details, str):
            details = json.loads(details)
        details = details or {}
        brief = {k: v for k, v in details.items() if k not in ("calls", "lines")}
        if details.get("calls"):
            brief["calls"] = _calls(details)
        found.append({"at": r["at"].isoformat(), "kind": r["kind"], **brief})
    if len(found) > 5:  # the first tries and the last
        found = [*found[:4], {"omitted": len(found) - 5}, found[-1]]
    return found


def answers_seen(answers: list[tuple[float, str]], start: float) -> dict[str, dict[str, Any]]:
    """Each distinct answer: how many, first and last (seconds into the run)."""
    found: dict[str, dict[str, Any]] = {}
    for at, answer in sorted(answers):
        seen = found.setdefault(answer, {"n": 0, "first_s": round(at - start, 1)})
        seen["n"] += 1
        seen["last_s"] = round(at - start, 1)
    return found


def _calls(details: dict[str, Any]) -> list[str]:
    return [
        f"{c.get('request', '?').rsplit('/', 1)[-1]} "
        + "/".join(str(c[k]) for k in ("status", "code", "error") if k in c)
        for c in details.get("calls") or []
    ]


# -- main ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    p.add_argument("-n", type=int, default=400, help="orders (half per supplier)")
    p.add_argument("--rate", type=float, default=8.0, help="webhooks per second")
    p.add_argument("--seed", type=int, default=10, help="of the supplier faults and delays")
    p.add_argument("--kill-at", type=float, nargs="*", default=[8.0, 38.0])
    p.add_argument("--pg-restart-at", type=float, default=18.0)
    p.add_argument("--rabbit-restart-at", type=float, default=28.0)
    p.add_argument(
        "--fault-share",
        type=float,
        default=1.0,
        help="multiplies each supplier fault's probability (1: about 18%% of create calls)",
    )
    p.add_argument(
        "--shopify-throttled",
        action="store_true",
        help="the fake Shopify's query-cost bucket as a standard shop's (else lifted)",
    )
    p.add_argument("--settle-timeout", type=float, default=240.0)
    p.add_argument("--keep-logs", metavar="DIR", help="keep the processes' logs in DIR")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    mix = {fault: share * args.fault_share for fault, share in FAULT_MIX.items()}
    base_id = 9_000_000_000 + rng.randrange(10**8)
    hooks = {
        base_id + k: Webhook(base_id + k, "cj" if k % 2 == 0 else "http") for k in range(args.n)
    }
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # the dropped replies
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        logs = Path(args.keep_logs or tmp)
        logs.mkdir(parents=True, exist_ok=True)
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(httpx.AsyncClient(timeout=30.0))
            say("starting a PostgreSQL cluster and a RabbitMQ node of the run's own")
            pg, mq = await stack.enter_async_context(
                private_instances(logs if args.keep_logs else None)
            )
            shopify = await stack.enter_async_context(
                FakeShopify(unthrottled=not args.shopify_throttled).running()
            )
            cj = FakeCJSupplier()
            http = FakeHttpSupplierServer()
            gateway_url = ""
            shipper = Shipper(client, lambda: gateway_url, random.Random(args.seed + 1))
            stack.push_async_callback(shipper.aclose)
            injectors = [
                CreateFaults(
                    cj_documented_not_found(cj.recorder.app),
                    "cj",
                    CJ_CREATE,
                    cj.fake.orders,
                    lambda body: str(body["orderNumber"]),
                    shipper.cj_created,
                    random.Random(args.seed + 2),
                    mix,
                    SUPPLIER_TIMEOUT_S + 1,
                ),
                CreateFaults(
                    http.recorder.app,
                    "http",
                    "/orders",
                    http.fake.orders,
                    lambda body: str(body["id"]),
                    shipper.http_created,
                    random.Random(args.seed + 3),
                    mix,
                    SUPPLIER_TIMEOUT_S + 1,
                ),
            ]
            cj.recorder.app, http.recorder.app = injectors[0], injectors[1]
            await stack.enter_async_context(cj.running())
            await stack.enter_async_context(http.running())
            domains = {"cj": "faults-cj.myshopify.com", "http": "faults-http.myshopify.com"}
            routes = ",".join(f"{d}={shopify.url}" for d in domains.values())
            procs = await stack.enter_async_context(services(pg, mq, logs, client, routes, cj.url))
            gateway_url = procs["supplier-gateway"].url
            pipeline = Pipeline(
                intake=procs["order-intake"].url,
                gateway=gateway_url,
                admin_token=procs["order-intake"].env["DROPSHIP_ADMIN_TOKEN"],
                mail_dir=logs / "order-intake" / "mail",
            )
            stack.push_async_callback(pipeline.aclose)
            shops = {k: await pipeline.add_shop(d, SHOPIFY_TOKEN) for k, d in domains.items()}
            cj_sid = await pipeline.add_supplier("CJ", "cjdropshipping", cj.credentials())
            http_sid = await pipeline.add_supplier("Integrated", "http", http.credentials())
            await pipeline.map(shops["cj"], cj_sid, SHOPIFY_LINES.values())
            await pipeline.map(shops["http"], http_sid, SHOPIFY_LINES.values())
            shipper.http_key = await pipeline.supplier_key(http_sid)
            shipper.cj, shipper.cj_supplier_id = cj, cj_sid
            for i in hooks:
                shopify.add_order(i)

            say(f"{args.n} orders at {args.rate}/s, faults on (seed {args.seed})")
            for injector in injectors:
                injector.armed = True
            start = time.monotonic()
            load = asyncio.create_task(
                send_webhooks(
                    client, procs["order-intake"].url, shops, list(hooks.values()), args.rate, start
                )
            )
            faults = await run_faults(
                args, procs["supplier-gateway"], client, injectors, pg, mq, start
            )
            sending_s = args.n / args.rate
            await asyncio.sleep(max(0.0, start + sending_s - time.monotonic()))
            for injector in injectors:
                injector.armed = False
            faults_over = time.monotonic()
            say(f"faults off at {faults_over - start:.1f}s; waiting for the orders to settle")
            settled = await wait_settled(shopify, list(hooks), faults_over + args.settle_timeout)
            if settled is not None:
                await asyncio.sleep(5.0)  # a late second write-back would show now
            else:
                say("not every order was written back in time")
            if not load.done():  # webhooks still refused: counted as never accepted
                load.cancel()
            await asyncio.gather(load, return_exceptions=True)
            at_suppliers = {
                "cjdropshipping": set(cj.fake.orders),
                "http": set(http.fake.orders),
            }
            result = await outcome(pg, hooks, shopify, at_suppliers)
            # messages still queued at the end (a dead-letter queue: given up on)
            queued = {k: v for k, v in (await mq.queues()).items() if v}
            for wrong in result["wrong"][:40]:
                for so in wrong["supplier_orders"]:
                    so["timeline"] = await timeline_of(pg, so["id"])
                    # what the supplier itself received: did a create call ever arrive?
                    seen = cj.creates(so["id"]) if so["adapter"] != "http" else http.posts(so["id"])
                    so["create_calls_received"] = [
                        "no answer sent"
                        if c.status is None or c.answered_at is None
                        else str(c.status)
                        for c in seen
                    ]
            last_fulfilment = max(
                (max(ts) for ts in shopify.fulfilled_at().values() if ts), default=None
            )
            injected = {i.supplier: dict(i.injected) for i in injectors}
            ship_answers = {
                kind: answers_seen(
                    [a for r in shipper.records.values() if r.supplier == kind for a in r.answers],
                    start,
                )
                for kind in ("cj", "http")
            }
            not_delivered = Counter(r.supplier for r in shipper.records.values() if not r.delivered)
    ok = (
        result["placed"].get("once", 0) == args.n
        and result["written_back"].get("once", 0) == args.n
    )
    wrong = result.pop("wrong")
    return {
        "ok": ok,
        "n": args.n,
        "seed": args.seed,
        "orders": {
            "placed_exactly_once": result["placed"].get("once", 0),
            "placed_more_than_once": result["placed"].get("more_than_once", 0),
            "not_placed": result["placed"].get("not_placed", 0),
            "not_placed_by_gateway_status": result["not_placed_by_gateway_status"],
            "wrong_by_cause": result["wrong_by_cause"],
            "supplier_orders_ever_needs_attention": result["supplier_orders_ever_needs_attention"],
            "placements_found_by_lookup": result["placements_found_by_lookup"],
            "written_back_exactly_once": result["written_back"].get("once", 0),
            "written_back_more_than_once": result["written_back"].get("more_than_once", 0),
            "written_back_missing": result["written_back"].get("missing", 0),
        },
        "time": {
            "webhooks_sent_s": round(sending_s, 1),
            "faults_over_at_s": round(faults_over - start, 1),
            "settled": settled is not None,
            "settled_s_after_faults": None if settled is None else round(settled - faults_over, 1),
            "last_write_back_at_s": None
            if last_fulfilment is None
            else round(last_fulfilment - start, 1),
        },
        "faults": {
            "supplier_calls": injected,
            "events": faults.events,
        },
        "webhooks": {
            "resent": sum(1 for h in hooks.values() if h.attempts > 1),
            "never_accepted": sum(1 for h in hooks.values() if h.accepted_at is None),
            "answers": answers_seen([a for h in hooks.values() for a in h.answers], start),
        },
        "suppliers_shipping": {
            "orders_shipped": Counter(r.supplier for r in shipper.records.values()),
            "never_answered_200": dict(not_delivered),
            "answers": ship_answers,
        },
        "messages_left_in_queues": queued,
        "wrong_orders": wrong,
        "settings": {**COMMON_SETTINGS, **GATEWAY_SETTINGS, "fault_mix": mix},
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def run(argv: Sequence[str] | None = None) -> int:
    result = asyncio.run(main(parse_args(argv)))
    text = json.dumps(result, indent=2, default=str)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"faults-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(text + "\n")
    say(f"written to {path.relative_to(ROOT)}")
    print(text)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(run())
