"""Schemathesis against every service's OpenAPI (issue 11 §8 "Kept honest").

Each service runs as in production (``dropship serve <service>`` on its own PostgreSQL
database) and Schemathesis, stateless, sends what each operation's schema allows and
what it does not (its examples, coverage and fuzzing phases), with the admin token.
Two checks: no answer is a 5xx (``not_a_server_error``), and every status an operation
answers is one its OpenAPI ``responses`` declares (``status_code_conformance``).

Bounded and reproducible: a fixed seed, deterministic generation (no example database),
a few examples per operation (the whole module takes well under 90 s).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dropship_common.messaging.rabbitmq import RabbitMQBus
from dropship_common.settings import SERVICE_NAMES
from dropship_testkit.infra import DatabaseFactory, create_vhost, delete_vhost
from dropship_testkit.pytest_plugin import ADMIN_TOKEN, TEST_SECRET, free_port

from .support import DROPSHIP, Proc, service_env

pytestmark = pytest.mark.system

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
SEED = 20261104
MAX_EXAMPLES = 10  # per operation, in the fuzzing phase


@pytest.fixture(scope="module")
async def services(
    databases: DatabaseFactory, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, str]]:
    """Every service as its own ``dropship serve`` process (HTTP only: ``role=api``, no
    background work racing the requests); service -> base URL."""
    logs: Path = tmp_path_factory.mktemp("fuzz")
    tag = uuid.uuid4().hex[:8]
    exchange = f"test.fuzz.{tag}"
    # a vhost of its own: the services' queues are declared here with this run's
    # arguments, not those other tests gave the same names in the session's vhost
    vhost = f"/dstest_fuzz_{tag}"
    amqp_url = create_vhost(vhost)
    # an API process never touches the broker's topology: declare each service's queues
    # (its dead-letter queue is what /v1/dead-letters reads) as its worker would
    bus = RabbitMQBus(amqp_url, exchange, retry_delays_ms=[100], delivery_limit=5, prefetch=1)
    await bus.connect()
    try:
        for s in SERVICE_NAMES:
            await bus.declare(s, [])
    finally:
        await bus.close()
    ports = {s: free_port() for s in SERVICE_NAMES}
    procs: dict[str, Proc] = {}
    try:
        for s in SERVICE_NAMES:
            env = service_env(
                database_url=await databases.new(s),
                bus_url=amqp_url,
                exchange=exchange,
                port=ports[s],
                secret_key=TEST_SECRET,
                admin_token=ADMIN_TOKEN,
                DROPSHIP_ROLE="api",
                DROPSHIP_LOG_LEVEL="WARNING",
            )
            procs[s] = Proc([DROPSHIP, "serve", s], env, logs / f"{s}.log").start()
        for s, p in procs.items():
            p.wait_ready(f"http://127.0.0.1:{ports[s]}/readyz")
        yield {s: f"http://127.0.0.1:{ports[s]}" for s in SERVICE_NAMES}
    finally:
        for p in procs.values():
            p.stop()
        delete_vhost(vhost)


def _schemathesis(base: str, report: Path) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` (its CLI: the interface it keeps stable) against one service."""
    return subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{base}/openapi.json",
            "--checks=not_a_server_error,status_code_conformance",
            "--phases=examples,coverage,fuzzing",
            f"--max-examples={MAX_EXAMPLES}",
            f"--seed={SEED}",
            "--generation-deterministic",
            "--continue-on-failure",
            "--workers=1",
            "--request-timeout=10",
            f"--header=Authorization: Bearer {ADMIN_TOKEN}",
            "--report=junit",
            f"--report-dir={report}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=report,  # no schemathesis.toml of the caller's applies
    )


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_no_server_error_and_every_status_declared(
    services: dict[str, str], service: str, tmp_path: Path
) -> None:
    done = _schemathesis(services[service], tmp_path)
    if done.returncode != 0:
        pytest.fail(done.stdout[-30_000:] + done.stderr[-2_000:], pytrace=False)
