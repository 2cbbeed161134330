"""Running the services as separate processes, as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DROPSHIP = str(Path(sys.executable).parent / "dropship")


LOOPBACK = "127.0.0.1,localhost"  # where the tests' vendor fakes listen


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPSHIP_")}
    env.update(extra)
    return env


@dataclass
class Proc:
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.args} exited {self.popen.returncode}:\n{self.tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{url} not ready in {timeout}s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def restart(self) -> Proc:
        """SIGKILL, then the same command again (its output in ``<log>.2.log``)."""
        self.kill()
        return Proc(self.args, self.env, self.log.with_suffix(".2.log")).start()

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def service_env(
    *,
    database_url: str,
    bus_url: str,
    exchange: str,
    port: int,
    secret_key: str,
    admin_token: str,
    **extra: str,
) -> dict[str, str]:
    """The environment of one ``dropship serve <service>`` process in distributed mode
    (nothing inherited from the caller's ``DROPSHIP_*``); ``extra``: more ``DROPSHIP_*``
    variables, e.g. ``DROPSHIP_CJ_BASE_URL``. The vendors' fakes listen on loopback,
    which the outbound rules refuse unless allowed (``DROPSHIP_OUTBOUND_ALLOW``)."""
    return clean_env(
        DROPSHIP_MODE="distributed",
        DROPSHIP_OUTBOUND_ALLOW=LOOPBACK,
        DROPSHIP_DATABASE_URL=database_url,
        DROPSHIP_BUS_URL=bus_url,
        DROPSHIP_EXCHANGE=exchange,
        DROPSHIP_SECRET_KEY=secret_key,
        DROPSHIP_ADMIN_TOKEN=admin_token,
        DROPSHIP_PORT=str(port),
        **extra,
    )


def run_cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [DROPSHIP, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
