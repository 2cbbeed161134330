"""HotRoutes: an exact POST path served by its endpoint without FastAPI's routing, with
the same answers, the JSON error model, the body limit and the route's metrics label."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from prometheus_client import REGISTRY
from sqlalchemy.exc import IntegrityError

from dropship_common.errors import BadRequest, install_error_handlers
from dropship_common.hot_routes import HotRoutes
from dropship_common.observability import MetricsMiddleware
from dropship_common.security import BodySizeLimitMiddleware

calls: list[tuple[str, Any]] = []


resolved: list[str] = []


def runtime_of(request: Request) -> Any:
    resolved.append("runtime")
    return request.app.state.runtime


router = APIRouter()


@router.post("/hook")
async def hook(request: Request, rt: Annotated[Any, Depends(runtime_of)]) -> Response:
    body = await request.body()
    calls.append(("hook", rt.name))
    if body == b"bad":
        raise BadRequest("a bad body", {"got": "bad"})
    if body == b"race":
        raise IntegrityError("INSERT", None, Exception("duplicate key"))
    if body == b"gone":
        raise HTTPException(404, "no such thing")
    if body == b"crash":
        raise RuntimeError("a bug")
    return Response(b'{"took": %d}' % len(body), media_type="application/json")


@router.get("/hook")
async def hook_get() -> dict[str, str]:
    return {"via": "router"}


def app_with(hot: bool) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.runtime = SimpleNamespace(name="the runtime")
    if hot:
        app.add_middleware(HotRoutes, routers=[router], routes={"/hook": hook})
    app.add_middleware(MetricsMiddleware, service="hot-test")
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=100)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def requests_counted(status: str) -> float:
    value = REGISTRY.get_sample_value(
        "http_requests_total",
        {"service": "hot-test", "method": "POST", "route": "/hook", "status": status},
    )
    return value or 0.0


@pytest.mark.parametrize("hot", [True, False])
async def test_same_answers_with_and_without_the_hot_path(hot: bool) -> None:
    calls.clear()
    before_ok, before_bad = requests_counted("200"), requests_counted("400")
    async with client(app_with(hot)) as c:
        ok = await c.post("/hook", content=b"12345")
        bad = await c.post("/hook", content=b"bad")
        too_big = await c.post("/hook", content=b"x" * 101)
        race = await c.post("/hook", content=b"race")
        gone = await c.post("/hook", content=b"gone")
        got = await c.get("/hook")
    assert (ok.status_code, ok.json()) == (200, {"took": 5})
    assert bad.status_code == 400
    assert bad.json() == {
        "error": {"code": "bad_request", "message": "a bad body", "details": {"got": "bad"}}
    }
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    # every exception handler of the app applies, not only the one for AppError
    assert (race.status_code, race.json()["error"]["code"]) == (409, "conflict")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "not_found")
    assert got.json() == {"via": "router"}  # other methods go through the router
    assert calls == [("hook", "the runtime")] * 4
    # labelled with the route's template either way
    assert requests_counted("200") == before_ok + 1
    assert requests_counted("400") == before_bad + 1


@pytest.mark.parametrize("hot", [True, False])
async def test_an_unexpected_error_is_a_500_in_the_error_model(hot: bool) -> None:
    transport = httpx.ASGITransport(app=app_with(hot), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        crash = await c.post("/hook", content=b"crash")
    assert (crash.status_code, crash.json()["error"]["code"]) == (500, "internal_error")


@pytest.mark.parametrize("hot", [True, False])
async def test_the_hot_path_skips_dependency_injection(hot: bool) -> None:
    resolved.clear()
    async with client(app_with(hot)) as c:
        assert (await c.post("/hook", content=b"1")).status_code == 200
    assert resolved == ([] if hot else ["runtime"])


def test_a_hot_route_must_be_a_post_route_of_the_routers() -> None:
    with pytest.raises(ValueError, match="without a FastAPI route"):
        HotRoutes(FastAPI(), routers=[router], routes={"/elsewhere": hook})
    with pytest.raises(ValueError, match="not that POST endpoint"):
        HotRoutes(FastAPI(), routers=[router], routes={"/hook": hook_get})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="without a FastAPI route"):
        get_only = APIRouter()
        get_only.add_api_route("/hook", hook, methods=["GET"])
        HotRoutes(FastAPI(), routers=[get_only], routes={"/hook": hook})
