"""Keeps docker-compose.yml, the Dockerfile and deploy/postgres/init.sql honest without a
Docker engine.

The compose file is parsed and checked for structure; then its infrastructure is
reproduced natively (init.sql run by psql against the local PostgreSQL, the RabbitMQ
user created with rabbitmqctl) and its ``migrate``, ``cli`` and four app services are run
natively, each with the ``command`` and ``environment`` written in the file (compose
interpolation applied, compose host names mapped to 127.0.0.1). The app services must
become ready (``/readyz``: database and bus ok) on the ports the file gives them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import yaml

from dropship_cli.services import SPECS
from dropship_common.settings import DEFAULT_PORTS, SERVICE_NAMES, db_name, env_name

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"

APP_SERVICES: tuple[str, ...] = SERVICE_NAMES
DATABASES = tuple(db_name(s) for s in SERVICE_NAMES)
APP_DEPENDS_ON = {
    "postgres": "service_healthy",
    "rabbitmq": "service_healthy",
    "migrate": "service_completed_successfully",
}
# What the test "exports" before `docker compose up`; everything else uses the defaults.
COMPOSE_VARS = {"DROPSHIP_SECRET_KEY": "compose-system-test-secret-0123456789abcdef"}
PG = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
READY_DEADLINE_S = 60.0
DROPSHIP = Path(sys.executable).parent / "dropship"


# ------------------------------------------------------------------------ helpers


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's variable substitution: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        op, arg = match["op"], match["arg"] or ""
        current = variables.get(name)
        missing = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if missing else str(current)
        if op in (":?", "?"):
            if missing:
                raise ValueError(f"required variable {name} is missing: {arg}")
            return str(current)
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def native_host(value: str, hosts: set[str]) -> str:
    """``...@postgres:5432/db`` -> ``...@127.0.0.1:5432/db``: the host part of a URL, or a
    whole value, that is a compose service name (never a path such as ``/logistics``)."""
    if value in hosts:
        return "127.0.0.1"
    names = "|".join(sorted((re.escape(h) for h in hosts), key=len, reverse=True))
    return re.sub(rf"(://(?:[^@/]*@)?)(?:{names})(?=[:/?#]|$)", r"\g<1>127.0.0.1", value)


def native_environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The service's compose environment as the container would see it, for a process on
    this machine: os.environ without DROPSHIP_* plus the (interpolated) service env."""
    hosts = set(compose["services"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPSHIP_")}
    for key, value in compose["services"][service]["environment"].items():
        env[key] = native_host(interpolate(str(value), COMPOSE_VARS), hosts)
    return env


def native_command(compose: dict[str, Any], service: str) -> list[str]:
    command = list(compose["services"][service]["command"])
    assert command[0] == "dropship", command
    assert DROPSHIP.exists(), f"no dropship executable next to {sys.executable}"
    return [str(DROPSHIP), *command[1:]]


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no output)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(no output)"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def psql(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PG, *args], capture_output=True, text=True, timeout=60)


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=120, check=False
    )


def list_queues(vhost: str) -> set[str]:
    done = rabbitmqctl("-q", "list_queues", "-p", vhost, "name", "--no-table-headers")
    assert done.returncode == 0, done.stderr
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def delete_queues(amqp_url: str, queues: set[str]) -> list[str]:
    """Delete ``queues`` over AMQP (one connection, fast); returns the failures."""

    async def run() -> list[str]:
        failures = []
        connection = await aio_pika.connect(amqp_url, timeout=10)
        try:
            for queue in sorted(queues):
                channel = await connection.channel()
                try:
                    await channel.queue_delete(queue)
                except aio_pika.exceptions.ChannelClosed as exc:  # e.g. already gone
                    failures.append(f"{queue}: {exc}")
                finally:
                    if not channel.is_closed:
                        await channel.close()
        finally:
            await connection.close()
        return failures

    return asyncio.run(run())


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def infra(compose: dict[str, Any]) -> Iterator[None]:
    """Fresh databases from init.sql (run twice: it must be re-runnable) and the RabbitMQ
    user of the compose file, on the local PostgreSQL and RabbitMQ."""
    for tool in ("psql", "rabbitmqctl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to reproduce the compose infrastructure natively")
    # Fail before touching any database if a developer's services hold the ports.
    busy = []
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        host, port = str(env["DROPSHIP_HOST"]), int(env["DROPSHIP_PORT"])
        if not port_is_free(host, port):
            busy.append(f"{name} needs {host}:{port}")
    if busy:
        pytest.fail(
            "ports of docker-compose.yml are in use (a `dropship run` or other process?); "
            "stop it and re-run — this test runs the compose environment as written, on its "
            "own ports: " + "; ".join(busy)
        )

    for database in DATABASES:
        done = psql("-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        assert done.returncode == 0, done.stderr
    for attempt in (1, 2):
        done = psql("-f", str(INIT_SQL))
        assert done.returncode == 0, f"init.sql run {attempt} failed:\n{done.stdout}{done.stderr}"

    rabbit = compose["services"]["rabbitmq"]["environment"]
    user, password = rabbit["RABBITMQ_DEFAULT_USER"], rabbit["RABBITMQ_DEFAULT_PASS"]
    done = rabbitmqctl("add_user", user, password)
    assert done.returncode == 0 or "already exists" in done.stdout + done.stderr, done.stderr
    done = rabbitmqctl("set_permissions", "-p", "/", user, ".*", ".*", ".*")
    assert done.returncode == 0, done.stderr
    done = rabbitmqctl("authenticate_user", user, password)
    assert done.returncode == 0, (
        f"RabbitMQ user {user!r} exists with another password than the compose file's: "
        f"{done.stdout}{done.stderr}"
    )
    yield


# ------------------------------------------------------------------- static checks


def test_compose_file_structure(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the `version:` key is obsolete"
    services = compose["services"]
    assert set(services) >= {"postgres", "rabbitmq", "migrate", "cli", *APP_SERVICES}

    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:15")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    mounts = [str(v) for v in postgres.get("volumes", [])]
    assert any(
        m.startswith("./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/") for m in mounts
    ), mounts
    assert INIT_SQL.exists()

    rabbit = services["rabbitmq"]
    assert str(rabbit["image"]) == "rabbitmq:3.10-management"
    assert rabbit["healthcheck"]["test"][-3:] == ["rabbitmq-diagnostics", "-q", "ping"]
    assert rabbit["environment"]["RABBITMQ_DEFAULT_USER"] == "dropship"
    assert rabbit["environment"]["RABBITMQ_DEFAULT_PASS"] == "dropship"
    published = {str(p).rsplit(":", 1)[-1] for p in rabbit["ports"]}
    assert published >= {"5672", "15672"}

    migrate = services["migrate"]
    assert migrate["command"] == ["dropship", "migrate"]
    assert "build" in migrate
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert isinstance(migrate["environment"], dict)
    cli = services["cli"]
    assert cli["profiles"] == ["tools"]
    for env in (migrate["environment"], cli["environment"]):
        for name in SERVICE_NAMES:
            url = env[f"DROPSHIP_{env_name(name)}_DATABASE_URL"]
            assert re.fullmatch(rf"postgresql\+asyncpg://[^@]+@postgres:5432/{db_name(name)}", url)

    ports = set()
    for name in APP_SERVICES:
        svc = services[name]
        port = DEFAULT_PORTS[name]
        ports.add(port)
        assert svc["build"] == "."
        assert svc["command"] == ["dropship", "serve", name]
        assert svc["restart"] == "unless-stopped"
        assert {k: v["condition"] for k, v in svc["depends_on"].items()} == APP_DEPENDS_ON
        assert f"{port}:{port}" in [str(p) for p in svc["ports"]]
        healthcheck = " ".join(svc["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in healthcheck
        env = svc["environment"]
        assert isinstance(env, dict), f"{name}: keep `environment` a mapping"
        assert env["DROPSHIP_MODE"] == "distributed"
        assert env["DROPSHIP_DATABASE_URL"].endswith(f"@postgres:5432/{db_name(name)}")
        assert env["DROPSHIP_BUS_URL"] == "amqp://dropship:dropship@rabbitmq:5672/"
        assert env["DROPSHIP_SECRET_KEY"].startswith("${DROPSHIP_SECRET_KEY:?")
        assert env["DROPSHIP_HOST"] == "0.0.0.0"
        assert str(env["DROPSHIP_PORT"]) == str(port)
        assert "DROPSHIP_PUBLIC_BASE_URL" in env
    assert len(ports) == len(APP_SERVICES)


def test_compose_environment_names_and_values_are_valid(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every DROPSHIP_* variable is one the settings read (no typos), every value is a
    string (compose turns `yes`/`8001` into other types), and each app service's
    environment is accepted by its service's settings class (an empty
    DROPSHIP_ADMIN_TOKEN would not be); the cli's by every one of them."""
    known = {
        f"DROPSHIP_{field.upper()}"
        for spec in SPECS.values()
        for field in spec.settings_class.model_fields
    }
    for name in SERVICE_NAMES:
        known |= {f"DROPSHIP_{env_name(name)}_DATABASE_URL", f"DROPSHIP_{env_name(name)}_PORT"}
    for service, spec in compose["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            assert isinstance(value, str), f"{service}.{key}: quote {value!r}"
            if key.startswith("DROPSHIP_"):
                assert key in known, f"{service}: {key} is not a setting"

    for name in (*APP_SERVICES, "cli"):
        with monkeypatch.context() as patch:
            for key in [k for k in os.environ if k.startswith("DROPSHIP_")]:
                patch.delenv(key)
            for key, value in native_environment(compose, name).items():
                if key.startswith("DROPSHIP_"):
                    patch.setenv(key, value)
            classes = (
                [SPECS[name].settings_class]
                if name in SPECS
                else [spec.settings_class for spec in SPECS.values()]
            )
            # the validators refuse dev defaults, bad tokens, URLs we may not call
            settings, *_ = [cls() for cls in classes]
        assert settings.mode == "distributed"
        if name in APP_SERVICES:
            resolved = settings.for_service(name)
            assert resolved.port == DEFAULT_PORTS[name]
            assert resolved.db_url.endswith(f"/{db_name(name)}")


def test_compose_refuses_to_start_without_a_secret_key(compose: dict[str, Any]) -> None:
    for name in (*APP_SERVICES, "cli"):
        value = compose["services"][name]["environment"]["DROPSHIP_SECRET_KEY"]
        with pytest.raises(ValueError, match="DROPSHIP_SECRET_KEY"):
            interpolate(value, {})
        with pytest.raises(ValueError, match="DROPSHIP_SECRET_KEY"):
            interpolate(value, {"DROPSHIP_SECRET_KEY": ""})


def test_interpolation_helper() -> None:
    env = {"A": "1", "E": ""}
    assert interpolate("${A}-$A-$$A", env) == "1-1-$A"
    assert interpolate("${E:-x}|${E-x}|${U:-y}|${U-y}", env) == "x||y|y"
    with pytest.raises(ValueError):
        interpolate("${U?boom}", env)
    assert native_host("amqp://u:p@rabbitmq:5672/", {"rabbitmq"}) == "amqp://u:p@127.0.0.1:5672/"
    hosts = {"postgres", "logistics"}
    assert (
        native_host("postgresql+asyncpg://u:p@postgres:5432/logistics", hosts)
        == "postgresql+asyncpg://u:p@127.0.0.1:5432/logistics"
    )
    assert native_host("http://logistics:8003/x", hosts) == "http://127.0.0.1:8003/x"
    assert native_host("postgres", hosts) == "127.0.0.1"
    assert native_host("INFO", hosts) == "INFO"


def test_dockerfile_is_multi_stage_frozen_and_non_root() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines()]
    froms = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    assert re.search(r"uv sync\b[^\n]*--frozen", text), "uv sync --frozen (the lock file wins)"
    assert re.search(r"uv sync\b[^\n]*--no-dev", text)
    final_stage = lines[froms[-1] :]
    users = [line.split(None, 1)[1] for line in final_stage if line.upper().startswith("USER ")]
    assert users, "the final stage needs a USER line"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    assert any(line.startswith("ENV PATH=/app/.venv/bin:$PATH") for line in final_stage)
    assert 'CMD ["dropship", "--help"]' in final_stage
    # every workspace member's pyproject.toml reaches the dependency layer (a new member
    # missing here makes `uv sync --frozen` fail in the image only)
    for pyproject in sorted(ROOT.glob("*/*/pyproject.toml")):
        rel = pyproject.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in ("apps", "libs", "services"):
            assert f"COPY {rel} " in text, f"Dockerfile does not copy {rel}"
    for needed in ("COPY pyproject.toml uv.lock", "COPY apps/", "COPY libs/", "COPY services/"):
        assert needed in text

    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".venv", ".git", "data", "bench/results"} <= ignored
    assert not any("migrations" in line for line in ignored), "migrations belong in the image"
    # the dev-only test kit's code stays out (its pyproject.toml is enough for `uv sync`)
    assert "libs/testkit/src" in ignored


# ------------------------------------------------------------------- native run


def test_init_sql_creates_role_and_databases(infra: None) -> None:
    done = psql(
        "-At",
        "-c",
        "SELECT d.datname || ':' || r.rolname FROM pg_database d "
        "JOIN pg_roles r ON r.oid = d.datdba ORDER BY 1",
    )
    assert done.returncode == 0, done.stderr
    owners = dict(line.split(":") for line in done.stdout.split())
    for database in DATABASES:
        assert owners.get(database) == "dropship", owners
    done = psql("-At", "-c", "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'dropship'")
    assert done.stdout.strip() == "t"


def test_compose_services_run_natively(
    infra: None, compose: dict[str, Any], tmp_path: Path
) -> None:
    logs: dict[str, Path] = {}

    def run_once(service: str, *argv: str) -> subprocess.CompletedProcess[str]:
        command = native_command(compose, service)
        if argv:
            command = [str(DROPSHIP), *argv]
        log = logs[service] = tmp_path / f"{service}.log"
        done = subprocess.run(
            command,
            env=native_environment(compose, service),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
        log.write_text(done.stdout + done.stderr)
        return done

    # 1) the one-shot migrate service
    done = run_once("migrate")
    assert done.returncode == 0, f"migrate failed ({done.returncode}):\n{tail(logs['migrate'])}"
    for name in SERVICE_NAMES:
        assert f"{name}: migrated" in done.stdout

    # 2) the cli service (tools profile): one admin key for every service
    done = run_once("cli", "apikey", "create", "--role", "admin", "--label", "compose-test")
    assert done.returncode == 0, f"cli failed:\n{tail(logs['cli'])}"
    key = done.stdout.strip().splitlines()[-1]
    assert f"valid on: {', '.join(SERVICE_NAMES)}" in done.stderr

    # 3) the four app services
    bus_vhost = "/"
    queues_before = list_queues(bus_vhost)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in APP_SERVICES:
            log = logs[name] = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                procs[name] = subprocess.Popen(
                    native_command(compose, name),
                    env=native_environment(compose, name),
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

        deadline = time.monotonic() + READY_DEADLINE_S
        with httpx.Client(timeout=3.0) as client:
            for name in APP_SERVICES:
                port = int(compose["services"][name]["environment"]["DROPSHIP_PORT"])
                url = f"http://127.0.0.1:{port}/readyz"
                last = "no answer"
                while True:
                    if procs[name].poll() is not None:
                        pytest.fail(
                            f"{name} exited with {procs[name].returncode} before it was "
                            f"ready:\n{tail(logs[name])}"
                        )
                    try:
                        response = client.get(url)
                    except httpx.TransportError as exc:
                        last = repr(exc)
                    else:
                        last = f"{response.status_code} {response.text}"
                        if response.status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"{name} not ready within {READY_DEADLINE_S:g}s at {url}; "
                            f"last: {last}\n{tail(logs[name])}"
                        )
                    time.sleep(0.25)  # polling interval of the deadline-bound loop

                body = response.json()
                assert body["status"] == "ready", body
                assert body["service"] == name, body
                assert body["checks"]["database"] == "ok", body
                assert body["checks"]["bus"] == "ok", body

                # the compose healthcheck itself, run natively
                test = compose["services"][name]["healthcheck"]["test"]
                assert test[0] == "CMD" and test[1] == "python", test
                check = subprocess.run(
                    [sys.executable, *test[2:]], capture_output=True, text=True, timeout=30
                )
                assert check.returncode == 0, f"{name} healthcheck: {check.stderr}"

                # the cli's key works on this service; no key does not
                admin = client.get(
                    f"http://127.0.0.1:{port}/v1/dead-letters",
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert admin.status_code == 200, f"{name}: {admin.status_code} {admin.text}"
                anonymous = client.get(f"http://127.0.0.1:{port}/v1/dead-letters")
                assert anonymous.status_code == 401, anonymous.text
    except BaseException:
        for name, log in logs.items():
            print(f"----- {name} ({log}) -----\n{tail(log)}")
        raise
    finally:
        for proc in procs.values():
            stop(proc)
        # the queues this run declared on the shared vhost go away with it (only the
        # services' own names: other runs may be using the vhost with their prefixes)
        bus_url = native_environment(compose, APP_SERVICES[0])["DROPSHIP_BUS_URL"]
        ours = re.compile(rf"(?:{'|'.join(map(re.escape, APP_SERVICES))})(?:\.dlq|\.retry\.\d+ms)?")
        leftovers = {q for q in list_queues(bus_vhost) - queues_before if ours.fullmatch(q)}
        failures = delete_queues(bus_url, leftovers)
        assert not failures, failures

    for name, proc in procs.items():
        assert proc.returncode is not None, name
