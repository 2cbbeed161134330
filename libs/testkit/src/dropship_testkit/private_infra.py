"""A PostgreSQL cluster and a RabbitMQ node of one's own, in a temporary directory, on
loopback ports of their own, for what stops or restarts them (``bench.faults``, tests of
what survives a broker outage): the machine's shared instances are never stopped (other
runs use them, and the tests running in the other pytest-xdist process).

* PostgreSQL: ``initdb`` (trust authentication, user ``postgres``) and ``pg_ctl`` from
  the newest ``/usr/lib/postgresql/*/bin`` (or ``BENCH_PG_BIN``); as root, both run as
  the ``postgres`` user (PostgreSQL refuses root). ``fsync=off`` (and no full-page
  writes): the run stops the server process, never the machine, so what PostgreSQL
  wrote is kept by the operating system. Commits stay synchronous: with
  ``synchronous_commit=off`` an immediate stop loses the last commits already
  acknowledged (an accepted webhook, a consumed message), which is not the fault
  under test.
* RabbitMQ: ``rabbitmq-server -detached`` with its own node name, ports, Erlang cookie
  (``HOME`` is the temporary directory), data and log directories, configuration and
  plugins file (none enabled), so nothing of the shared node's is read or touched; a
  restart halts the whole node (``rabbitmqctl stop``) and boots it again from its data.

Ports are picked below the kernel's ephemeral range (32768 and up on Linux): a port
picked in that range can be taken by an outgoing connection before the server binds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path


def listen_port(avoid: set[int] | None = None) -> int:
    """A free loopback TCP port in 20000-32000 (outside the ephemeral range)."""
    for _ in range(200):
        port = random.randint(20_000, 32_000)
        if avoid and port in avoid:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def _run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 90.0) -> str:
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout


class PrivatePostgres:
    """One PostgreSQL cluster in ``root``, listening on 127.0.0.1:``port`` only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = listen_port()
        self.bin = Path(os.environ.get("BENCH_PG_BIN") or self._newest_bin())
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def _newest_bin() -> str:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if found:
            return found[-1]
        initdb = shutil.which("initdb")
        if initdb is None:
            raise RuntimeError("initdb not found: install PostgreSQL or set BENCH_PG_BIN")
        return str(Path(initdb).parent)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> str:
        return _run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), *args])

    async def start(self) -> None:
        if not self.data.exists():
            if self.as_user:
                shutil.chown(self.root, "postgres")
            await asyncio.to_thread(
                _run,
                [
                    *self.as_user,
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        await asyncio.to_thread(
            self._ctl, "start", "-w", "-t", "60", "-l", str(self.log), "-o", options
        )

    async def restart(self, down_seconds: float) -> None:
        """Stopped at once (``-m immediate``: no shutdown, recovery on start, as after a
        crash), kept down ``down_seconds``, started again."""
        await asyncio.to_thread(self._ctl, "stop", "-m", "immediate", "-w", "-t", "30")
        await asyncio.sleep(down_seconds)
        await self.start()

    async def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                await asyncio.to_thread(self._ctl, "stop", "-m", "fast", "-w", "-t", "30")
            except RuntimeError:
                await asyncio.to_thread(self._ctl, "stop", "-m", "immediate", "-w", "-t", "30")


class PrivateRabbit:
    """One RabbitMQ node (``faults-<random>@localhost``) with everything in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.node = f"faults{secrets.token_hex(3)}@localhost"
        self.port = listen_port()
        self.dist_port = listen_port({self.port})
        sbin = Path("/usr/lib/rabbitmq/bin")  # the real scripts (Debian's wrappers su)
        self.server = str(sbin / "rabbitmq-server") if sbin.exists() else "rabbitmq-server"
        self.ctl = str(sbin / "rabbitmqctl") if sbin.exists() else "rabbitmqctl"
        if shutil.which(self.server) is None:
            raise RuntimeError("rabbitmq-server not found: install RabbitMQ")
        (root / "env.conf").write_text("")
        (root / "rabbitmq.conf").write_text("")
        (root / "enabled_plugins").write_text("[].\n")
        loopback = "-kernel inet_dist_use_interface {127,0,0,1}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            "HOME": str(root),  # its own Erlang cookie
            "RABBITMQ_CONF_ENV_FILE": str(root / "env.conf"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_PID_FILE": str(root / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": loopback,
            "RABBITMQ_CTL_ERL_ARGS": loopback,
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _rabbitmqctl(self, *args: str, timeout: float = 90.0) -> str:
        return _run([self.ctl, "-n", self.node, "-q", *args], env=self.env, timeout=timeout)

    async def start(self, timeout: float = 90.0) -> None:
        await asyncio.to_thread(_run, [self.server, "-detached"], self.env)
        deadline = time.monotonic() + timeout
        while True:  # await_startup fails at once until the node has registered
            try:
                await asyncio.to_thread(self._rabbitmqctl, "await_startup", "--timeout", "60")
                return
            except RuntimeError as exc:
                if time.monotonic() > deadline:
                    log = self.root / "log" / f"{self.node}.log"
                    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                    raise RuntimeError(f"RabbitMQ node did not start: {exc}\n{tail}") from exc
            await asyncio.sleep(0.5)

    async def queues(self) -> dict[str, int]:
        """Each queue's ready and unacknowledged messages."""
        out = await asyncio.to_thread(
            self._rabbitmqctl, "list_queues", "name", "messages", "--no-table-headers"
        )
        found = {}
        for line in out.splitlines():
            name, _, count = line.rpartition("\t")
            if name and count.isdigit():
                found[name] = int(count)
        return found

    async def restart(self, down_seconds: float) -> None:
        """The node halted (every connection dropped), kept down, booted again from its
        data (durable queues and persistent messages survive)."""
        await asyncio.to_thread(self._rabbitmqctl, "stop")
        await asyncio.sleep(down_seconds)
        await self.start()

    async def stop_app(self) -> None:
        """The broker stopped inside a running node (``rabbitmqctl stop_app``): every
        connection refused until :meth:`start_app`."""
        await asyncio.to_thread(self._rabbitmqctl, "stop_app")

    async def start_app(self) -> None:
        await asyncio.to_thread(self._rabbitmqctl, "start_app")
        await asyncio.to_thread(self._rabbitmqctl, "await_startup", "--timeout", "60")

    async def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            await asyncio.to_thread(self._rabbitmqctl, "stop", timeout=60)
        await asyncio.to_thread(self._kill_leftover)

    def _kill_leftover(self) -> None:
        """The node's own process, if ``stop`` did not halt it (checked by its command
        line: nothing else is killed)."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.root / "rabbitmq.pid").read_text().strip())
            if str(self.root) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                os.kill(pid, 9)


def _instances() -> tuple[Path, PrivatePostgres, PrivateRabbit]:
    root = Path(tempfile.mkdtemp(prefix="private-infra-"))
    root.chmod(0o755)  # PostgreSQL's user reaches its directory
    (root / "pg").mkdir()
    (root / "mq").mkdir(mode=0o700)
    return root, PrivatePostgres(root / "pg"), PrivateRabbit(root / "mq")


@contextlib.asynccontextmanager
async def private_rabbit() -> AsyncIterator[PrivateRabbit]:
    """A RabbitMQ node of one's own, stopped and removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="private-rabbit-"))
    mq = await asyncio.to_thread(PrivateRabbit, root)
    try:
        await mq.start()
        yield mq
    finally:
        await mq.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_instances(
    keep_logs_in: Path | None = None,
) -> AsyncIterator[tuple[PrivatePostgres, PrivateRabbit]]:
    """Both started, stopped and removed at the end (whatever happened); their logs
    copied to ``keep_logs_in`` first, if given."""
    root, pg, mq = await asyncio.to_thread(_instances)
    try:
        await asyncio.gather(pg.start(), mq.start())
        yield pg, mq
    finally:
        await asyncio.gather(pg.stop(), mq.stop(), return_exceptions=True)
        if keep_logs_in is not None:
            await asyncio.to_thread(_copy_logs, root, keep_logs_in)
        shutil.rmtree(root, ignore_errors=True)


def _copy_logs(root: Path, to: Path) -> None:
    to.mkdir(parents=True, exist_ok=True)
    for log in [root / "pg" / "postgres.log", *(root / "mq" / "log").glob("*.log")]:
        with contextlib.suppress(OSError):
            shutil.copy(log, to / f"{log.parent.name}-{log.name}")
