"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST

from dropship_common.health import health_router, run_checks
from dropship_common.observability import OUTBOX_PENDING


async def ok() -> None:
    return None


async def broken() -> None:
    raise RuntimeError("connection refused")


async def silent_failure() -> None:
    raise ConnectionError()


async def hangs() -> None:
    await asyncio.Event().wait()


def client(checks, **kw) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(health_router("order-intake", checks, **kw))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_healthz():
    async with client({"database": broken}) as c:
        response = await c.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "order-intake"}


async def test_readyz_all_ok():
    async with client({"database": ok, "bus": ok}) as c:
        response = await c.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "bus": "ok"}


async def test_readyz_no_checks_is_ready():
    async with client({}) as c:
        response = await c.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {}


async def test_readyz_failure_is_503_with_error_shape():
    async with client({"database": ok, "bus": broken, "cache": silent_failure}) as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert "bus" in error["message"] and "cache" in error["message"]
    assert error["details"] == {
        "checks": {"database": "ok", "bus": "connection refused", "cache": "ConnectionError"}
    }


async def test_readyz_check_timeout():
    async with client({"bus": hangs, "database": ok}, timeout=0.05) as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["details"]["checks"] == {
        "bus": "timed out after 0.05s",
        "database": "ok",
    }


async def test_checks_run_concurrently():
    started: list[str] = []
    gate = asyncio.Event()

    async def first() -> None:
        started.append("first")
        await gate.wait()

    async def second() -> None:
        started.append("second")
        gate.set()

    assert await run_checks({"first": first, "second": second}, 1.0) == {
        "first": "ok",
        "second": "ok",
    }


async def test_default_timeout_is_two_seconds(monkeypatch):
    seen: list[float] = []
    real_wait_for = asyncio.wait_for

    async def spy(aw, timeout):
        seen.append(timeout)
        return await real_wait_for(aw, timeout)

    monkeypatch.setattr("dropship_common.health.asyncio.wait_for", spy)
    async with client({"bus": ok}) as c:
        await c.get("/readyz")
    assert seen == [2.0]


async def test_metrics_endpoint():
    OUTBOX_PENDING.labels("health-test").set(7)
    async with client({}) as c:
        response = await c.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    assert 'outbox_pending{service="health-test"} 7.0' in response.text


async def test_health_routes_not_in_openapi():
    app = FastAPI()
    app.include_router(health_router("x", {}))
    assert not any(p in app.openapi()["paths"] for p in ("/healthz", "/readyz", "/metrics"))
