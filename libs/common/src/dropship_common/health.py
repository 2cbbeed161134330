"""Liveness, readiness and metrics endpoints every service mounts.

* ``GET /healthz``: the process answers (no dependency is touched).
* ``GET /readyz``: every readiness check (database, bus, …) passes, each within a time
  limit; otherwise 503 with the stable error shape and each check's result.
* ``GET /metrics``: Prometheus text exposition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from dropship_common.errors import error_body

__all__ = ["Check", "health_router", "run_checks"]

Check = Callable[[], Awaitable[None]]
_MAX_ERROR_TEXT = 200


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s"
    text = str(exc).strip() or type(exc).__name__
    return text[:_MAX_ERROR_TEXT]


async def run_checks(checks: Mapping[str, Check], limit: float = 2.0) -> dict[str, str]:
    """Run the checks concurrently, each within ``limit`` seconds; returns
    ``{name: "ok" | "<error text>"}``. A check fails by raising."""

    async def one(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), limit)
        except Exception as exc:  # a broken check must not break the probe
            return _describe(exc, limit)
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def health_router(
    service: str,
    checks: Mapping[str, Check],
    *,
    timeout: float = 2.0,
    registry: CollectorRegistry = REGISTRY,
) -> APIRouter:
    """``/healthz``, ``/readyz`` and ``/metrics`` for ``service`` (left out of the
    OpenAPI schema: they are for orchestrators and scrapers, not for clients)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": service})

    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = await run_checks(checks, timeout)
        failed = [name for name, result in results.items() if result != "ok"]
        if not failed:
            return JSONResponse({"status": "ready", "service": service, "checks": results})
        return JSONResponse(
            error_body(
                "not_ready",
                f"{service} is not ready: {', '.join(failed)} failed",
                {"checks": results},
            ),
            status_code=503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
