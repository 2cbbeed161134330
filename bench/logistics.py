"""``make bench``: logistics at scale, on PostgreSQL (+ RabbitMQ for the service).

1. **Seed** ``--parcels`` active parcels (default 1,000,000) in bulk (``COPY``), spread
   over a year of shipping dates and every active status, each with two scans on its
   timeline, all registered at one 17TRACK account: the database's bytes per parcel.
2. **Claim plan**: the poller's claim of a batch of due parcels (40, 17TRACK's batch) is
   ``EXPLAIN (ANALYZE, BUFFERS)``-ed at that size, and timed over ``--claims`` claims
   (each in its own transaction, rolled back): p50 / p99 ms, and whether the plan is an
   index scan on ``ix_parcels_next_check_at``. Same for the rules sweep's claim.
3. **Pushes**: logistics runs as a separate process (``dropship serve logistics``);
   ``--pushes`` signed 17TRACK ``TRACKING_UPDATED`` pushes (a new scan each, for
   distinct parcels) are sent at ``--push-rate`` per second: answered p50 / p99 ms,
   then applied updates/s until every push is applied, and exactly-once checked (each
   parcel one new scan and one status change, no push left, none failed).
4. **Polling**: ``--polls`` parcels of the ten accounts are made due and the tracking
   worker polls them at a fake 17TRACK (``gettrackinfo``, 40 a call). The fake's own
   limit is lifted; ours is kept: each account at 17TRACK's 3 requests a second, shared
   by the processes (``rate_slots``), so ten accounts can reach 1,200 parcels/s: the
   figure is parcels/s until every one has its new scan.

Prints one JSON document on stdout (progress on stderr) and writes it to
``bench/results/logistics-<timestamp>.json``; the database is dropped at the end.
Usage: ``python -m bench.logistics [--parcels N] [--pushes N] [--push-rate R]
[--polls N] [--claims N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aio_pika
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
    service_queue_names,
)
from bench.rawclient import Connection, HTTPClientError
from dropship_testkit.fakes.seventeen_track import FakeEvent, FakeParcel, FakeSeventeenTrack
from dropship_testkit.server import serving
from tests.system.support import DROPSHIP, service_env

SHIPPED_FROM = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ACTIVE = ["info_received", "in_transit", "in_customs", "out_for_delivery", "exception"]
API_KEY = "bench-17track-key"
ACCOUNTS = 10
CLAIM_SQL = (
    "SELECT id FROM parcels WHERE next_check_at IS NOT NULL AND next_check_at <= $1"
    " AND account_id = $2 AND registered_at IS NOT NULL"
    " ORDER BY next_check_at LIMIT 40 FOR UPDATE SKIP LOCKED"
)
REVIEW_SQL = (
    "SELECT id FROM parcels WHERE review_at IS NOT NULL AND review_at <= $1"
    " ORDER BY review_at LIMIT 500 FOR UPDATE SKIP LOCKED"
)


def db_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://")
    return f"{base}/{name}"


def migrate(name: str) -> None:
    from dropship_cli.services import migrations_dir
    from dropship_common.migrate import upgrade_sync
    from logistics.main import SPEC  # noqa: F401  (the service's tables)

    upgrade_sync(migrations_dir("logistics"), db_url(name))


async def seed(
    conn: asyncpg.Connection, n: int, accounts: Sequence[uuid.UUID], now: dt.datetime
) -> float:
    """``n`` active parcels and two scans each, by COPY, spread over ``accounts`` (one
    per shop, say); none due for a day. Seconds taken."""
    started = time.monotonic()
    rng = random.Random(7)
    for k, account in enumerate(accounts):
        await conn.execute(
            "INSERT INTO tracking_accounts (id, provider, label, shop_id, scope, is_default,"
            " api_key, active, created_at) VALUES ($1, '17track', $2, $3, $4, true, $5,"
            " true, now())",
            account,
            f"bench {k}",
            (shop := uuid.uuid4()),
            str(shop),
            API_KEY,
        )
    chunk = 100_000
    for start in range(0, n, chunk):
        parcels: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for i in range(start, min(n, start + chunk)):
            pid = uuid.uuid4()
            account = accounts[i % len(accounts)]
            shipped = SHIPPED_FROM + dt.timedelta(minutes=rng.randrange(0, 300 * 24 * 60))
            status = ACTIVE[i % len(ACTIVE)]
            last_scan = shipped + dt.timedelta(hours=rng.randrange(1, 200))
            parcels.append(
                (
                    pid,
                    uuid.uuid4(),
                    uuid.uuid4(),
                    uuid.uuid4(),
                    uuid.uuid4(),
                    f"BN{i:09d}CN",
                    "China Post",
                    "chinapost",
                    "given",
                    "postal",
                    secrets.token_urlsafe(32),
                    account,
                    shipped,
                    status,
                    last_scan,
                    last_scan,
                    shipped,
                    (shipped + dt.timedelta(days=12)).date(),
                    (shipped + dt.timedelta(days=40)).date(),
                    False,
                    {},
                    now + dt.timedelta(seconds=rng.randrange(86400, 3 * 86400)),
                    0,
                    now + dt.timedelta(seconds=rng.randrange(60, 30 * 86400)),
                    False,
                    shipped,
                    shipped,
                )
            )
            for k, (what, at) in enumerate((("info_received", shipped), (status, last_scan))):
                events.append(
                    (pid, "scan", at, what, what, f"scan {k}", "Shenzhen", f"k{k}:{i}", "bench", at)
                )
        await conn.copy_records_to_table(
            "parcels",
            records=[(*p[:20], json.dumps(p[20]), *p[21:]) for p in parcels],
            columns=[
                "id",
                "order_id",
                "supplier_order_id",
                "supplier_id",
                "shop_id",
                "tracking_number",
                "carrier_given",
                "carrier",
                "carrier_source",
                "carrier_class",
                "token",
                "account_id",
                "registered_at",
                "status",
                "status_at",
                "last_scan_at",
                "shipped_at",
                "window_from",
                "window_to",
                "silent_route",
                "notices",
                "next_check_at",
                "check_failures",
                "review_at",
                "cancelled",
                "created_at",
                "updated_at",
            ],
        )
        await conn.copy_records_to_table(
            "parcel_events",
            records=events,
            columns=[
                "parcel_id",
                "kind",
                "occurred_at",
                "status",
                "provider_status",
                "description",
                "location",
                "dedupe_key",
                "cause",
                "recorded_at",
            ],
        )
        say(f"seeded {min(n, start + chunk):,} parcels")
    await conn.execute("ANALYZE parcels")
    await conn.execute("ANALYZE parcel_events")
    return time.monotonic() - started


async def sizes(conn: asyncpg.Connection, n: int) -> dict[str, Any]:
    parcels = await conn.fetchval("SELECT pg_total_relation_size('parcels')")
    events = await conn.fetchval("SELECT pg_total_relation_size('parcel_events')")
    return {
        "parcels_table_and_indexes_bytes": parcels,
        "parcel_events_table_and_indexes_bytes": events,
        "bytes_per_parcel": round((parcels + events) / n),
        "bytes_per_parcel_row_only": round(parcels / n),
    }


async def claim_timings(
    conn: asyncpg.Connection, sql: str, args: Sequence[Any], claims: int
) -> dict[str, Any]:
    plan_rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
    plan = "\n".join(r[0] for r in plan_rows)
    times: list[float] = []
    for _ in range(claims):
        tx = conn.transaction()
        await tx.start()
        t0 = time.perf_counter()
        await conn.fetch(sql, *args)
        times.append((time.perf_counter() - t0) * 1000)
        await tx.rollback()
    times.sort()
    return {
        "claims": claims,
        "p50_ms": round(percentile(times, 50), 3),
        "p99_ms": round(percentile(times, 99), 3),
        "index_scan": "Index Scan" in plan and "Seq Scan" not in plan,
        "plan": plan,
    }


async def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    name = f"bench_logistics_{secrets.token_hex(4)}"
    result: dict[str, Any] = {
        "bench": "logistics",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "parcels": args.parcels,
    }
    async with fresh_database(name):
        await asyncio.to_thread(migrate, name)
        conn = await asyncpg.connect(db_url(name, "postgresql"))
        try:
            accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
            account = accounts[0]
            now = dt.datetime.now(dt.UTC)
            result["seed_seconds"] = round(await seed(conn, args.parcels, accounts, now), 1)
            result["size"] = await sizes(conn, args.parcels)
            later = now + dt.timedelta(hours=30)  # about 3% of the parcels due
            result["claim_poll_batch"] = await claim_timings(
                conn, CLAIM_SQL, [later, account], args.claims
            )
            result["claim_rules_batch"] = await claim_timings(
                conn, REVIEW_SQL, [later], max(20, args.claims // 10)
            )
            say(
                "claims: poll p99 {p99_ms} ms (index scan: {index_scan})".format(
                    **result["claim_poll_batch"]
                )
            )
            async with logistics_process(name) as (base, fake, server, sink):
                result["pushes"] = await push_phase(conn, base, fake, account, args)
                result["pushes"]["published"] = dict(sink.received)
                result["polls"] = await poll_phase(conn, fake, accounts, args)
                if any(k.startswith("error") for k in result["pushes"]["http_statuses"]):
                    say("logistics log:\n" + server.log_tail(6000))
            result["size_after"] = await sizes(conn, args.parcels)
        finally:
            await conn.close()
    return result


class ShipmentSink:
    """Stands in for order-intake: a queue bound to ``shipment.#`` on the run's exchange
    (logistics publishes with ``mandatory``: an event nobody's queue takes is an error),
    counting what arrives; the exchange and the service's queues are deleted after."""

    def __init__(self, exchange: str, prefix: str) -> None:
        self.exchange, self.prefix = exchange, prefix
        self.received: dict[str, int] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(AMQP_URL)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, "shipment.#")
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        kind = message.routing_key or "?"
        self.received[kind] = self.received.get(kind, 0) + 1

    async def close(self) -> None:
        if self._connection is None:
            return
        channel = await self._connection.channel()
        for queue in service_queue_names(self.exchange, self.prefix, ["logistics"]):
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(self.exchange)
        await self._connection.close()


@contextlib.asynccontextmanager
async def logistics_process(
    name: str,
) -> AsyncIterator[tuple[str, FakeSeventeenTrack, Server, ShipmentSink]]:
    """``dropship serve logistics`` on the bench database, with a fake 17TRACK (its
    rate limit lifted: 17TRACK's per-key rate is kept by our client, per account)."""
    fake = FakeSeventeenTrack(api_key=API_KEY, quota=10**9, rate_per_second=10**6)
    logdir = Path(tempfile.mkdtemp(prefix="bench-logistics-"))
    port = free_port()
    exchange, prefix = f"bench.logistics.{secrets.token_hex(4)}", f"bench{secrets.token_hex(3)}"
    sink = ShipmentSink(exchange, prefix)
    await sink.start()
    async with serving(fake.app()) as fake_url:
        env = service_env(
            database_url=db_url(name),
            bus_url=AMQP_URL,
            exchange=exchange,
            port=port,
            secret_key=secrets.token_urlsafe(32),
            admin_token=secrets.token_urlsafe(32),
            DROPSHIP_QUEUE_PREFIX=prefix,
            DROPSHIP_LOG_LEVEL="WARNING",
            DROPSHIP_DATA_DIR=str(logdir),
            DROPSHIP_SEVENTEEN_TRACK_BASE_URL=fake_url,
            DROPSHIP_POLL_INTERVAL_SECONDS="0.2",
            DROPSHIP_RULES_INTERVAL_SECONDS="3600",
            DROPSHIP_TRACKING_ACCOUNTS_AT_ONCE=str(ACCOUNTS),
        )
        # as deployed under load: an API process answers, a worker process applies
        worker_port = free_port()
        worker_env = {**env, "DROPSHIP_PORT": str(worker_port)}
        api = Server(
            "logistics-api", [DROPSHIP, "serve", "logistics", "--role", "api"], env, logdir
        )
        worker = Server(
            "logistics-worker",
            [DROPSHIP, "serve", "logistics", "--role", "worker"],
            worker_env,
            logdir,
        )
        try:
            async with running(api), running(worker), httpx.AsyncClient() as hx:
                base = f"http://127.0.0.1:{port}"
                await api.wait_ready(hx, f"{base}/readyz")
                await worker.wait_ready(hx, f"http://127.0.0.1:{worker_port}/readyz")
                yield base, fake, worker, sink
        finally:
            await sink.close()


async def push_phase(
    conn: asyncpg.Connection,
    base: str,
    fake: FakeSeventeenTrack,
    account: uuid.UUID,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Signed 17TRACK pushes (a "Delivered" scan each, for distinct parcels) at a fixed
    rate: answered latency, then applied updates/s, then exactly-once checked."""
    rows = await conn.fetch(
        "SELECT tracking_number FROM parcels WHERE account_id = $1 LIMIT $2",
        account,
        args.pushes,
    )
    now = dt.datetime.now(dt.UTC)
    bodies = []
    for row in rows:
        number = row["tracking_number"]
        fake.parcels[number] = FakeParcel(
            number,
            3011,
            events=[FakeEvent(now, "Delivered", "Delivered_Other", "Delivered", "Berlin", "DE")],
        )
        bodies.append(fake.push_body(number))
    path = f"/webhooks/17track/{account}"
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    port = int(base.rsplit(":", 1)[1])
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)
    started = time.monotonic()

    async def worker() -> None:
        # bench.rawclient: httpx would cost the client more CPU than the server spends
        conn = Connection("127.0.0.1", port)
        try:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                delay = started + i / args.push_rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                body, headers = bodies[i]
                t0 = time.perf_counter()
                try:
                    status, _ = await conn.post(path, body, headers)
                except (HTTPClientError, OSError) as exc:
                    key = f"error:{type(exc).__name__}"
                    statuses[key] = statuses.get(key, 0) + 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(32)))
    sent_s = time.monotonic() - started
    say(f"pushes: {len(bodies)} sent in {sent_s:.1f} s")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        left = await conn.fetchval(
            "SELECT count(*) FROM tracking_pushes WHERE processed_at IS NULL"
        )
        if left == 0:
            break
        await asyncio.sleep(0.5)
    window = await conn.fetchrow(
        "SELECT min(received_at) AS first, max(processed_at) AS last, count(*) AS n,"
        " count(*) FILTER (WHERE error IS NOT NULL) AS failed FROM tracking_pushes"
    )
    applied_s = (window["last"] - window["first"]).total_seconds()
    scans = await conn.fetchval(
        "SELECT count(*) FROM parcel_events WHERE kind = 'scan' AND cause LIKE 'push:%'"
    )
    changes = await conn.fetchval(
        "SELECT count(*) FROM parcel_events WHERE kind = 'status' AND cause LIKE 'push:%'"
    )
    delivered = await conn.fetchval(
        "SELECT count(*) FROM parcels WHERE account_id = $1 AND status = 'delivered'", account
    )
    latencies.sort()
    return {
        "pushes": len(bodies),
        "rate_asked_per_s": args.push_rate,
        "sent_per_s": round(len(bodies) / sent_s, 1),
        "http_statuses": statuses,
        "answered_p50_ms": round(percentile(latencies, 50), 2),
        "answered_p99_ms": round(percentile(latencies, 99), 2),
        "applied_updates_per_s": round(window["n"] / applied_s, 1),
        "stored": window["n"],
        "failed": window["failed"],
        "exactly_once": scans == len(bodies) == changes == delivered,
        "new_scans": scans,
        "status_changes": changes,
    }


async def poll_phase(
    conn: asyncpg.Connection,
    fake: FakeSeventeenTrack,
    accounts: Sequence[uuid.UUID],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """``--polls`` parcels not yet delivered, spread over the accounts, made due at once;
    the tracking worker polls them at the fake (``gettrackinfo``, 40 a call, each
    account at 17TRACK's 3 calls a second, so at most 120 parcels/s per account):
    parcels/s until every one has its new scan."""
    rows = await conn.fetch(
        "SELECT id, tracking_number FROM parcels WHERE account_id = ANY($1::uuid[])"
        " AND status <> 'delivered' LIMIT $2",
        list(accounts),
        args.polls,
    )
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        number = row["tracking_number"]
        fake.parcels[number] = FakeParcel(
            number,
            3011,
            events=[
                FakeEvent(
                    now,
                    "InTransit",
                    "InTransit_Arrival",
                    "Arrived at the sorting centre",
                    "Leipzig",
                    "DE",
                )
            ],
        )
    calls_before = fake.count("gettrackinfo")
    ids = [r["id"] for r in rows]
    await conn.execute(
        "UPDATE parcels SET next_check_at = now() - interval '1 minute' WHERE id = ANY($1)",
        ids,
    )
    started = time.monotonic()
    deadline = started + 600
    done = 0
    while time.monotonic() < deadline:
        # the parcels by id (a scan of parcel_events would load the machine it measures)
        done = await conn.fetchval(
            "SELECT count(*) FROM parcels WHERE id = ANY($1) AND last_scan_at >= $2",
            ids,
            now - dt.timedelta(seconds=1),
        )
        if done >= len(rows):
            break
        await asyncio.sleep(0.25)
    took = time.monotonic() - started
    scans = await conn.fetchval(
        "SELECT count(*) FROM parcel_events WHERE kind = 'scan' AND cause LIKE 'poll:%'"
    )
    return {
        "parcels": len(rows),
        "new_scans_recorded": scans,
        "accounts": len(accounts),
        "polled_with_a_new_scan": done,
        "seconds": round(took, 2),
        "parcels_per_s": round(done / took, 1),
        "gettrackinfo_calls": fake.count("gettrackinfo") - calls_before,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.logistics")
    p.add_argument("--parcels", type=int, default=int(os.environ.get("BENCH_PARCELS", 1_000_000)))
    p.add_argument("--claims", type=int, default=200)
    p.add_argument("--pushes", type=int, default=int(os.environ.get("BENCH_PUSHES", 15_000)))
    p.add_argument("--push-rate", type=float, default=600.0)
    p.add_argument("--polls", type=int, default=int(os.environ.get("BENCH_POLLS", 20_000)))
    return p.parse_args(argv)


if __name__ == "__main__":
    out = asyncio.run(main())
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"logistics-{stamp}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    sys.stdout.flush()
