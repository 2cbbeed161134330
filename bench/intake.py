"""``make bench``: order-intake's Shopify webhook under concurrent load, in distributed
mode (PostgreSQL + RabbitMQ), against two ceilings measured in the same run on the same
machine with the same client:

* *intake*: N signed ``orders/create`` webhooks (each a distinct order) posted to
  order-intake as deployed on one host: one ``--role api`` process and ``--workers``
  ``--role worker`` replicas (default 2) at a lower CPU priority (``--worker-nice``,
  default 19: the webhook answers come first, the workers catch up after a burst);
  accepted orders/s, p50/p99 response time, and how long after the last response the
  last of the N ``order.confirmed`` events reached a queue bound to the run's exchange;
* *bare*: a FastAPI endpoint that only parses the same body into the same pydantic model
  (:mod:`bench.bare`), served by uvicorn the way ``dropship serve`` serves; the median
  of three rounds of the same N requests;
* *postgres*: single-row autocommit ``INSERT`` rate, concurrent and on one connection.

Prints one JSON document on stdout (progress goes to stderr) and writes it to
``bench/results/intake-<timestamp>.json``. Everything the run creates (database,
exchange, queues, processes) is removed at the end.

The load client (:mod:`bench.rawclient`, one keep-alive connection per concurrent
request) is the same for the intake and the bare endpoint; ``--client httpx`` switches
both to httpx, whose pool costs more CPU per request than the bare endpoint does.

Usage: ``python -m bench.intake [-n N] [-c CONCURRENCY] [--warmup W]``
(defaults from ``BENCH_N``, ``BENCH_CONCURRENCY``, ``BENCH_WARMUP``: 2000, 64, 100).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import secrets
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
import orjson

from bench.rawclient import Connection, HTTPClientError
from dropship_common.messaging.rabbitmq import RabbitMQBus
from dropship_common.security import hmac_sha256_base64
from dropship_testkit.storefront import SHOPIFY_SKUS, shopify_order

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
SERVICE = "order-intake"
SHOP_DOMAIN = "bench.myshopify.com"
RETRY_DELAYS_MS = [1_000, 10_000, 60_000, 600_000]
READY_TIMEOUT_S = 90.0
EVENTS_TIMEOUT_S = 120.0
PG_STATS_FLUSH_S = 11.0  # PostgreSQL 15 backends flush their statistics within 10 s

TARGET_RATIO = 0.4
TARGET_LAG_S = 2.0


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux), to see who was busy."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (Linux)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


async def machine_busy(seconds: float = 2.0) -> float | None:
    """Fraction of the machine's CPU time in use over ``seconds`` (before the run)."""
    try:
        busy0, total0 = _cpu_times()
        await asyncio.sleep(seconds)
        busy1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    return (busy1 - busy0) / max(1, total1 - total0)


async def settle(timeout: float = 60.0, quiet: float = 0.15) -> float | None:
    """Wait until the machine is quiet (under ``quiet`` busy over half a second), at most
    ``timeout`` s: a round starts once the previous one's remaining work (the buyers'
    e-mails, autovacuum) is done, so each round measures the same thing. Returns the
    last reading."""
    deadline = time.monotonic() + timeout
    while True:
        busy = await machine_busy(0.5)
        if busy is None or busy < quiet or time.monotonic() > deadline:
            return busy


# -- load ------------------------------------------------------------------------------


@dataclass
class Request:
    body: bytes
    headers: dict[str, str]
    external_id: str


@dataclass
class LoadResult:
    n: int
    wall_s: float
    latencies_ms: list[float]
    accepted: int
    errors: int
    error_samples: list[str] = field(default_factory=list)
    t_last_response: float = 0.0  # time.monotonic()
    server_cpu_s: float | None = None
    client_cpu_s: float | None = None

    def summary(self, rate_key: str) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        out: dict[str, Any] = {
            rate_key: round(self.accepted / self.wall_s, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(lat[-1], 2) if lat else None,
            "errors": self.errors,
            "wall_s": round(self.wall_s, 3),
            "server_cpu_s": None if self.server_cpu_s is None else round(self.server_cpu_s, 2),
            "client_cpu_s": None if self.client_cpu_s is None else round(self.client_cpu_s, 2),
        }
        if self.error_samples:
            out["error_samples"] = self.error_samples
        return out


def shopify_requests(secret: str, ids: Sequence[int]) -> list[Request]:
    """Signed ``orders/create`` webhooks, one distinct order per id (built before timing)."""
    reqs = []
    for order_id in ids:
        body = shopify_order(id=order_id, name=f"#{order_id}")
        headers = {
            "content-type": "application/json",
            "x-shopify-topic": "orders/create",
            "x-shopify-shop-domain": SHOP_DOMAIN,
            "x-shopify-hmac-sha256": hmac_sha256_base64(secret, body),
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-triggered-at": "2026-11-22T00:00:00Z",
        }
        reqs.append(Request(body, headers, str(order_id)))
    return reqs


async def run_load(
    client: LoadClient,
    port: int,
    path: str,
    requests: Sequence[Request],
    concurrency: int,
    server_pid: int | None = None,
) -> LoadResult:
    """Post every request with at most ``concurrency`` in flight; a request counts as
    accepted when the answer is 200 with ``{"status": "accepted"}``."""
    latencies: list[float] = []
    errors: list[str] = []
    accepted = 0
    t_last = 0.0
    it = iter(requests)

    async def worker() -> None:
        nonlocal accepted, t_last
        async with client.session(port) as post:
            for req in it:
                t0 = time.perf_counter()
                try:
                    status, body = await post(path, req.body, req.headers)
                    ok = status == 200 and orjson.loads(body).get("status") == "accepted"
                    problem = None if ok else f"{status}: {body[:300]!r}"
                except (HTTPClientError, httpx.HTTPError, OSError, TimeoutError) as exc:
                    ok, problem = False, f"{type(exc).__name__}: {exc}"
                t1 = time.perf_counter()
                t_last = max(t_last, time.monotonic())
                latencies.append((t1 - t0) * 1000)
                if ok:
                    accepted += 1
                else:
                    errors.append(problem or "?")

    server_cpu0 = cpu_seconds(server_pid) if server_pid else None
    client_cpu0 = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    server_cpu1 = cpu_seconds(server_pid) if server_pid else None
    return LoadResult(
        n=len(requests),
        wall_s=wall,
        latencies_ms=latencies,
        accepted=accepted,
        errors=len(errors),
        error_samples=list(dict.fromkeys(errors))[:5],
        t_last_response=t_last,
        server_cpu_s=(
            server_cpu1 - server_cpu0
            if server_cpu0 is not None and server_cpu1 is not None
            else None
        ),
        client_cpu_s=time.process_time() - client_cpu0,
    )


Post = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]


class LoadClient:
    """The load client of every phase: ``raw`` (:mod:`bench.rawclient`, one keep-alive
    connection per worker) or ``httpx`` (one shared ``AsyncClient``)."""

    def __init__(self, kind: str, httpx_client: httpx.AsyncClient) -> None:
        self.kind = kind
        self.httpx = httpx_client

    def describe(self) -> str:
        if self.kind == "raw":
            return "bench.rawclient: asyncio streams, one keep-alive connection per worker"
        return f"httpx {httpx.__version__} AsyncClient shared by the workers"

    @contextlib.asynccontextmanager
    async def session(self, port: int) -> AsyncIterator[Post]:
        if self.kind == "raw":
            conn = Connection("127.0.0.1", port)
            try:
                yield conn.post
            finally:
                await conn.close()
            return

        async def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
            r = await self.httpx.post(
                f"http://127.0.0.1:{port}{path}", content=body, headers=headers
            )
            return r.status_code, r.content

        yield post


# -- processes -------------------------------------------------------------------------


class Server:
    """A server subprocess with its output in a log file (shown if it fails)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = logdir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        say(f"{self.name}: started pid {self.proc.pid}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    async def wait_ready(self, client: httpx.AsyncClient, url: str) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                r = await client.get(url, timeout=5.0)
                if r.status_code == 200:
                    return
                last = f"{r.status_code}: {r.text[:300]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.2)
        raise RuntimeError(
            f"{self.name} not ready after {READY_TIMEOUT_S}s ({last}):\n{self.log_tail()}"
        )

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            say(f"{self.name}: did not stop on SIGTERM, killing pid {proc.pid}")
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def running(server: Server) -> AsyncIterator[Server]:
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


def cpu_by_program(names: Sequence[str] = ("postgres", "beam.smp")) -> dict[str, float]:
    """CPU seconds of every process whose name is one of ``names`` (e.g. all PostgreSQL
    backends, the RabbitMQ node), summed per name: to see who was busy in a run."""
    totals = dict.fromkeys(names, 0.0)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if comm in totals:
            totals[comm] += cpu_seconds(int(proc.name)) or 0.0
    return totals


def service_queue_names(exchange: str, prefix: str, services: Sequence[str]) -> list[str]:
    """The queues the services of a run declare (main, retry tiers, dead letters), to
    delete at the end."""
    bus = RabbitMQBus(
        AMQP_URL,
        exchange,
        retry_delays_ms=RETRY_DELAYS_MS,
        delivery_limit=5,
        prefetch=1,
        queue_prefix=prefix,
    )
    return [q for service in services for q in bus.all_queue_names(service)]


def mails_written(folder: Path) -> int:
    """Buyer e-mails in the workers' mail folder (no SMTP in the benchmark)."""
    try:
        return sum(1 for name in os.listdir(folder) if name.endswith(".eml"))
    except FileNotFoundError:
        return 0


def workers_cpu(workers: Sequence[Server]) -> float | None:
    """CPU seconds of every worker process together."""
    times = [cpu_seconds(w.pid) for w in workers]
    return None if any(t is None for t in times) else sum(t for t in times if t is not None)


# -- PostgreSQL ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(name: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    say(f"database {name} created")
    try:
        yield name
    finally:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            say(f"database {name} dropped")
        finally:
            await conn.close()


async def postgres_commit_rate(
    dsn: str, connections: int, seconds: float, single_seconds: float
) -> dict[str, Any]:
    """Autocommit single-row ``INSERT``s: ``connections`` at once, then one alone."""
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(
            "CREATE TABLE bench_commit (id bigserial PRIMARY KEY, v bigint NOT NULL)"
        )
        settings = {
            name: await admin.fetchval(f"SHOW {name}")
            for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        }

        async def loop(conn: asyncpg.Connection, until: float) -> int:
            n = 0
            while time.perf_counter() < until:
                await conn.execute("INSERT INTO bench_commit (v) VALUES ($1)", n)
                n += 1
            return n

        conns = [await asyncpg.connect(dsn) for _ in range(connections)]
        try:
            for c in conns:  # prepare outside the measurement
                await c.execute("INSERT INTO bench_commit (v) VALUES ($1)", -1)
            start = time.perf_counter()
            counts = await asyncio.gather(*(loop(c, start + seconds) for c in conns))
            concurrent = sum(counts) / (time.perf_counter() - start)
            start = time.perf_counter()
            single_n = await loop(conns[0], start + single_seconds)
            single = single_n / (time.perf_counter() - start)
        finally:
            await asyncio.gather(*(c.close() for c in conns))
        await admin.execute("DROP TABLE bench_commit")
    finally:
        await admin.close()
    return {
        "commits_per_s_concurrent": round(concurrent, 1),
        "commits_per_s_single": round(single, 1),
        "connections": connections,
        "seconds": seconds,
        "settings": settings,
    }


async def pg_activity(db: str) -> dict[str, int]:
    """The database's cumulative counters (``pg_stat_database``)."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,"
            " tup_fetched FROM pg_stat_database WHERE datname = $1",
            db,
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


# -- RabbitMQ --------------------------------------------------------------------------


class EventTap:
    """A queue of the run bound to ``order.confirmed`` on the run's exchange; records
    when each order's first ``order.confirmed`` arrived (keyed by the Shopify id).

    The queue is durable and the connection robust, so a broker restart during the run
    (the test suite stops RabbitMQ's app in one test) loses nothing; ``reconnects``
    says whether that happened (the figures of such a run are not comparable)."""

    def __init__(self, exchange: str, queue: str) -> None:
        self.exchange_name = exchange
        self.queue_name = queue
        self.arrived: dict[str, float] = {}  # external id -> time.monotonic()
        self.messages = 0
        self.reconnects = 0
        self._waiting: tuple[set[str], asyncio.Event] | None = None
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(AMQP_URL)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=1000)
        # the same declaration as the service's bus (idempotent)
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(self.queue_name, durable=True)
        await queue.bind(exchange, "order.confirmed")
        await queue.consume(self._on_message, no_ack=True)

    def _on_reconnect(self, *_: Any) -> None:
        self.reconnects += 1
        say("event tap: reconnected to RabbitMQ (the broker restarted during the run)")

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        now = time.monotonic()
        self.messages += 1
        try:
            external_id = str(orjson.loads(message.body)["payload"]["external_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        self.arrived.setdefault(external_id, now)
        if self._waiting is not None:
            ids, done = self._waiting
            ids.discard(external_id)
            if not ids:
                done.set()

    async def wait_for(self, ids: Sequence[str], timeout: float) -> bool:
        """Until every id in ``ids`` has arrived (True) or ``timeout`` (False)."""
        missing = {i for i in ids if i not in self.arrived}
        if not missing:
            return True
        done = asyncio.Event()
        self._waiting = (missing, done)
        try:
            await asyncio.wait_for(done.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting = None

    async def close(self, delete_queues: Sequence[str]) -> None:
        """Close the tap; delete its queue, ``delete_queues`` and the run's exchange
        (on a fresh connection, retried for a while in case the broker is restarting)."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 10)
        last: BaseException | None = None
        for _ in range(30):
            try:
                connection = await aio_pika.connect(AMQP_URL, timeout=10)
            except Exception as exc:
                last = exc
                await asyncio.sleep(2)
                continue
            try:
                channel = await connection.channel()
                for name in (self.queue_name, *delete_queues):
                    await channel.queue_delete(name)
                await channel.exchange_delete(self.exchange_name)
                return
            except Exception as exc:
                last = exc
                await asyncio.sleep(2)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
        say(f"could not delete the run's queues/exchange: {last!r}")


# -- phases ----------------------------------------------------------------------------


async def bare_phase(
    client: LoadClient,
    logdir: Path,
    warmup: Sequence[Request],
    measured: Sequence[Request],
    concurrency: int,
    rounds: int,
) -> tuple[LoadResult, list[float]]:
    """The bare endpoint's figures: the median of ``rounds`` rounds of the same N
    requests (one round lasts well under a second, so one alone is noisy)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "bench.bare", str(port)]
    async with running(Server("bare", argv, dict(os.environ), logdir)) as server:
        await server.wait_ready(client.httpx, f"{base}/readyz")
        path = "/webhooks/shopify"
        warm = await run_load(client, port, path, warmup, concurrency)
        if warm.errors:
            raise RuntimeError(f"bare warm-up failed: {warm.error_samples}")
        say(f"bare: posting {len(measured)} requests, {rounds} rounds")
        results = [
            await run_load(client, port, path, measured, concurrency, server.pid)
            for _ in range(rounds)
        ]
    rates = [r.accepted / r.wall_s for r in results]
    median = sorted(results, key=lambda r: r.accepted / r.wall_s)[len(results) // 2]
    return median, [round(x, 1) for x in rates]


@dataclass
class IntakeResult:
    load: LoadResult
    events_received: int
    all_events_received: bool
    lag_s: float | None
    received_by_last_response: int
    drain_s: float | None
    drain_server_cpu_s: float | None
    worker_cpu_s: float | None  # from the first request until the last event
    others_cpu_s: dict[str, float]  # PostgreSQL, RabbitMQ: the same span
    rounds: list[dict[str, Any]]  # every round's figures (the fields above: the median)
    pg_per_order: dict[str, float] | None


async def intake_phase(
    client: LoadClient,
    logdir: Path,
    db: str,
    exchange: str,
    queue_prefix: str,
    tap: EventTap,
    warmup_ids: Sequence[int],
    measured_ids: Sequence[Sequence[int]],
    concurrency: int,
    n_workers: int,
    worker_nice: int,
) -> IntakeResult:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin_token = secrets.token_urlsafe(32)
    webhook_secret = "shpss_" + secrets.token_hex(16)
    env = {
        **os.environ,
        "DROPSHIP_MODE": "distributed",
        "DROPSHIP_SECRET_KEY": secrets.token_urlsafe(32),
        "DROPSHIP_ADMIN_TOKEN": admin_token,
        "DROPSHIP_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
        "DROPSHIP_BUS_URL": AMQP_URL,
        "DROPSHIP_EXCHANGE": exchange,
        "DROPSHIP_QUEUE_PREFIX": queue_prefix,
        "DROPSHIP_RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
        "DROPSHIP_PORT": str(port),
        "DROPSHIP_LOG_LEVEL": "WARNING",
        # without SMTP the buyer e-mails go to <data dir>/mail: keep them out of ./data
        "DROPSHIP_DATA_DIR": str(logdir / "data"),
    }
    env.pop("DROPSHIP_SMTP_URL", None)
    # per-service variables would win over the ones above
    for key in ("DATABASE_URL", "PORT"):
        env.pop(f"DROPSHIP_ORDER_INTAKE_{key}", None)
    dropship = str(Path(sys.executable).parent / "dropship")
    # as deployed: an API process (answers webhooks) and a worker process (processes
    # them, publishes the events), each on its own core
    argv = [dropship, "serve", SERVICE, "--migrate", "--role", "api"]
    worker_argv = [dropship, "serve", SERVICE, "--role", "worker"]
    if worker_nice:  # as an operator would run it on a host it shares with the API
        worker_argv = ["nice", "-n", str(worker_nice), *worker_argv]

    mail_dir = logdir / "data" / "mail"
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(running(Server(SERVICE, argv, env, logdir)))
        await server.wait_ready(client.httpx, f"{base}/readyz")
        workers = []
        for k in range(n_workers):
            worker_port = free_port()
            worker_env = {**env, "DROPSHIP_PORT": str(worker_port)}
            worker = await stack.enter_async_context(
                running(Server(f"{SERVICE}-worker{k}", worker_argv, worker_env, logdir))
            )
            await worker.wait_ready(client.httpx, f"http://127.0.0.1:{worker_port}/readyz")
            workers.append(worker)
        auth = {"authorization": f"Bearer {admin_token}"}
        r = await client.httpx.post(
            f"{base}/v1/shops",
            headers=auth,
            json={"platform": "shopify", "domain": SHOP_DOMAIN, "webhook_secret": webhook_secret},
        )
        if r.status_code != 201:
            raise RuntimeError(f"POST /v1/shops: {r.status_code} {r.text}")
        shop_id = r.json()["id"]
        r = await client.httpx.post(
            f"{base}/v1/products",
            headers=auth,
            json={"shop_id": shop_id, "products": [{"sku": s} for s in SHOPIFY_SKUS]},
        )
        if r.status_code not in (200, 201):
            raise RuntimeError(f"POST /v1/products: {r.status_code} {r.text}")

        path = "/webhooks/shopify"
        pg_before = await pg_activity(db)
        warmup = shopify_requests(webhook_secret, warmup_ids)
        rounds = [shopify_requests(webhook_secret, ids) for ids in measured_ids]

        warm = await run_load(client, port, path, warmup, concurrency)
        if warm.errors:
            raise RuntimeError(f"warm-up failed: {warm.error_samples}")
        # let the warm-up's orders drain so they do not overlap the measurement
        if not await tap.wait_for([q.external_id for q in warmup], EVENTS_TIMEOUT_S):
            raise RuntimeError(
                "warm-up: not every order.confirmed arrived within "
                f"{EVENTS_TIMEOUT_S}s\n{server.log_tail()}"
            )

        results = []
        for k, measured in enumerate(rounds, 1):
            await settle()
            say(f"intake round {k}/{len(rounds)}: posting {len(measured)} webhooks")
            cpu_at_load_start = workers_cpu(workers)
            others_at_load_start = cpu_by_program()
            mails_at_load_start = mails_written(mail_dir)
            load = await run_load(client, port, path, measured, concurrency, server.pid)
            cpu_at_last_response = workers_cpu(workers)
            say("intake: waiting for order.confirmed events")
            expected = [q.external_id for q in measured]  # every one should be confirmed
            all_received = await tap.wait_for(expected, EVENTS_TIMEOUT_S)
            cpu_at_all_events = workers_cpu(workers)
            mails_meanwhile = mails_written(mail_dir) - mails_at_load_start
            others = {
                name: v - others_at_load_start.get(name, 0.0)
                for name, v in cpu_by_program().items()
            }
            arrived = [tap.arrived[i] for i in expected if i in tap.arrived]
            lag = (max(arrived) - load.t_last_response) if all_received else None
            by_last = sum(1 for t in arrived if t <= load.t_last_response)
            if not all_received:
                say(f"intake: only {len(arrived)}/{len(expected)} events\n{server.log_tail()}")
            results.append(
                RoundResult(
                    load,
                    len(arrived),
                    all_received,
                    lag,
                    by_last,
                    (cpu_at_load_start, cpu_at_last_response, cpu_at_all_events),
                    others,
                    mails_meanwhile,
                )
            )
            if not all_received:
                break
        say(f"intake: waiting {PG_STATS_FLUSH_S}s for PostgreSQL's statistics")
        await asyncio.sleep(PG_STATS_FLUSH_S)
        pg_after = await pg_activity(db)
    orders = len(warmup) + sum(len(r) for r in rounds)
    # the round of median rate stands for the run; every round is listed too
    by_rate = sorted(results, key=lambda r: r.load.accepted / r.load.wall_s)
    mid = by_rate[len(by_rate) // 2] if all(r.all_received for r in results) else results[-1]
    start, last_response, all_events = mid.cpu
    complete = mid.all_received and None not in mid.cpu
    return IntakeResult(
        load=mid.load,
        events_received=mid.events_received,
        all_events_received=all(r.all_received for r in results),
        lag_s=mid.lag_s,
        received_by_last_response=mid.by_last,
        drain_s=mid.lag_s,
        drain_server_cpu_s=all_events - last_response if complete else None,  # type: ignore[operator]
        others_cpu_s=mid.others,
        worker_cpu_s=all_events - start if complete else None,  # type: ignore[operator]
        pg_per_order={k: round((pg_after[k] - pg_before[k]) / orders, 1) for k in pg_after},
        rounds=[
            {
                "orders_per_s": round(r.load.accepted / r.load.wall_s, 1),
                "p99_ms": round(percentile(sorted(r.load.latencies_ms), 99), 2),
                "events_all_published_after_last_response_s": (
                    None if r.lag_s is None else round(r.lag_s, 3)
                ),
                "buyer_emails_sent_before_last_event": r.mails_meanwhile,
            }
            for r in results
        ],
    )


@dataclass
class RoundResult:
    load: LoadResult
    events_received: int
    all_received: bool
    lag_s: float | None
    by_last: int
    cpu: tuple[float | None, float | None, float | None]  # workers: start, last answer, done
    others: dict[str, float]
    # written in the round before its last event was published: work that competed
    # with confirming orders for the cores (the mailer should give way to it)
    mails_meanwhile: int


# -- main ------------------------------------------------------------------------------


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    p.add_argument("-n", type=int, default=_env_int("BENCH_N", 2000), help="measured requests")
    p.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=_env_int("BENCH_CONCURRENCY", 64),
        help="requests in flight",
    )
    p.add_argument("--warmup", type=int, default=_env_int("BENCH_WARMUP", 100))
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default=os.environ.get("BENCH_CLIENT", "raw"),
        help="load client of every phase (see bench.rawclient for why raw is the default)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=_env_int("BENCH_WORKERS", 2),
        help="order-intake worker processes (replicas; they share the work by SKIP LOCKED)",
    )
    p.add_argument(
        "--worker-nice",
        type=int,
        default=_env_int("BENCH_WORKER_NICE", 19),
        help="niceness of the worker processes (the API answers storefronts first)",
    )
    p.add_argument("--bare-rounds", type=int, default=3, help="median of this many")
    p.add_argument(
        "--intake-rounds", type=int, default=3, help="median of this many (N webhooks each)"
    )
    p.add_argument("--pg-connections", type=int, default=16)
    p.add_argument("--pg-seconds", type=float, default=5.0)
    p.add_argument("--pg-single-seconds", type=float, default=3.0)
    p.add_argument("--skip-bare", action="store_true", help="intake only (profiling)")
    p.add_argument("--skip-postgres", action="store_true", help="intake only (profiling)")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    db = f"bench_order_intake_{run_id}"
    exchange = f"bench.{run_id}"
    queue_prefix = f"bench.{run_id}."
    service_queues = service_queue_names(exchange, queue_prefix, [SERVICE])

    # distinct Shopify order ids for every request of the run
    base_id = 5_000_000_000 + secrets.randbelow(10**9)
    warmup_ids = [base_id + i for i in range(args.warmup)]
    measured_ids = [base_id + args.warmup + i for i in range(args.n)]
    intake_ids = [
        [base_id + args.warmup + k * args.n + i for i in range(args.n)]
        for k in range(args.intake_rounds)
    ]
    bare_secret = "shpss_" + secrets.token_hex(16)
    bare_warmup = shopify_requests(bare_secret, warmup_ids)
    bare_measured = shopify_requests(bare_secret, measured_ids)

    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    busy_before = await machine_busy()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        logdir = Path(tmp)
        async with httpx.AsyncClient(limits=limits, timeout=60.0) as hx:
            client = LoadClient(args.client, hx)
            bare: LoadResult | None = None
            bare_rates: list[float] = []
            if not args.skip_bare:
                bare, bare_rates = await bare_phase(
                    client, logdir, bare_warmup, bare_measured, args.concurrency, args.bare_rounds
                )
                say(f"bare: {bare.summary('requests_per_s')}")
            async with fresh_database(db):
                tap = EventTap(exchange, f"{queue_prefix}tap")
                try:
                    await tap.start()
                    intake = await intake_phase(
                        client,
                        logdir,
                        db,
                        exchange,
                        queue_prefix,
                        tap,
                        warmup_ids,
                        intake_ids,
                        args.concurrency,
                        args.workers,
                        args.worker_nice,
                    )
                finally:
                    await tap.close(service_queues)
                    say(f"exchange {exchange} and queues {queue_prefix}* deleted")
                # last: its tens of thousands of commits leave PostgreSQL writing WAL and
                # checkpointing for a while, which slowed an intake measured after it
                pg: dict[str, Any] | None = None
                if not args.skip_postgres:
                    say("postgres: commit rate")
                    pg = await postgres_commit_rate(
                        f"postgresql://postgres@127.0.0.1:5432/{db}",
                        args.pg_connections,
                        args.pg_seconds,
                        args.pg_single_seconds,
                    )
                    say(f"postgres: {pg}")

    intake_summary = intake.load.summary("orders_per_s")
    intake_summary.update(
        events_all_published_after_last_response_s=(
            None if intake.lag_s is None else round(intake.lag_s, 3)
        ),
        all_events_received=intake.all_events_received,
        events_received=intake.events_received,
        events_received_by_last_response=intake.received_by_last_response,
        broker_reconnects_seen=tap.reconnects,
        rounds=intake.rounds,
    )
    intake_summary["diagnostics"] = {
        "server_cpu_ms_per_request_during_load": (
            None
            if intake.load.server_cpu_s is None
            else round(intake.load.server_cpu_s / intake.load.n * 1000, 2)
        ),
        "orders_confirmed_per_s_after_load": (
            round((intake.events_received - intake.received_by_last_response) / intake.drain_s, 1)
            if intake.drain_s
            else None
        ),
        "worker_cpu_ms_per_order": (
            None
            if intake.worker_cpu_s is None
            else round(intake.worker_cpu_s / intake.load.n * 1000, 2)
        ),
        "cpu_ms_per_order_postgres_rabbitmq": {
            k: round(v / intake.load.n * 1000, 2) for k, v in intake.others_cpu_s.items()
        },
        "server_cpu_s_after_load": (
            None if intake.drain_server_cpu_s is None else round(intake.drain_server_cpu_s, 2)
        ),
        "postgres_per_order_incl_warmup": intake.pg_per_order,
    }
    ratio = (
        intake.load.accepted / intake.load.wall_s / (bare.accepted / bare.wall_s)
        if bare is not None and bare.accepted
        else None
    )
    warnings = []
    if tap.reconnects:
        warnings.append(
            "RabbitMQ restarted during the run (is the test suite running?): "
            "the publish lag is not representative"
        )
    if busy_before is not None and busy_before > 0.15:
        warnings.append(
            f"the CPUs were {busy_before:.0%} busy just before the run: "
            "something else was running, the figures are not comparable"
        )
    result: dict[str, Any] = {
        "n": args.n,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "order_intake_processes": {
            "api": 1,
            "workers": args.workers,
            "worker_nice": args.worker_nice,
        },
        "intake": intake_summary,
        "bare": (
            None
            if bare is None
            else {**bare.summary("requests_per_s"), "rounds_requests_per_s": bare_rates}
        ),
        "postgres": pg,
        "ratio_intake_to_bare": None if ratio is None else round(ratio, 3),
        "targets": {
            "intake_ratio_min": TARGET_RATIO,
            "publish_lag_max_s": TARGET_LAG_S,
            "met": {
                "ratio": ratio is not None and ratio >= TARGET_RATIO,
                "lag": intake.lag_s is not None and intake.lag_s <= TARGET_LAG_S,
            },
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_busy_before": None if busy_before is None else round(busy_before, 3),
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "client": client.describe(),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "warnings": warnings,
    }
    return result


def run_bench(
    name: str,
    bench_main: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
    args: argparse.Namespace,
) -> int:
    """Run a benchmark on uvloop (when installed), print its JSON and write it to
    ``bench/results/<name>-<timestamp>.json``."""
    result: dict[str, Any]
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        result = asyncio.run(bench_main(args))
    else:
        result = uvloop.run(bench_main(args))
    text = json.dumps(result, indent=2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(text + "\n")
    say(f"written to {path.relative_to(ROOT)}")
    print(text)
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return run_bench("intake", main, parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
