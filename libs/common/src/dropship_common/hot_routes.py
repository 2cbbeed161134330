"""The busiest POST routes served without Starlette's routing and FastAPI's dependency
injection.

A storefront webhook costs order-intake's API about 0.45 ms of CPU; matching it against
the routes, solving its dependencies and passing it through FastAPI's inner middleware
were a fifth of that (py-spy under ``bench.intake``). A hot route is still an ordinary
FastAPI route (OpenAPI, tests and the router serve it the same way), and this ASGI
middleware, innermost of the service's own, calls the same endpoint function directly
for an exact ``POST`` path: the outer middleware (body limit, correlation id, metrics)
still apply, errors get the one JSON error model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dropship_common.errors import AppError, app_error_response

HotEndpoint = Callable[[Request, Any], Awaitable[Response]]  # (request, ServiceRuntime)


class HotRoutes:
    def __init__(
        self, app: ASGIApp, routers: Sequence[APIRouter], routes: Mapping[str, HotEndpoint]
    ) -> None:
        """``routers``: the service's routers (included without a prefix), which hold
        the hot routes too."""
        self.app = app
        self.endpoints = dict(routes)
        # the route objects, so the metrics label a hot request with its template too
        self.routes: dict[str, APIRoute] = {}
        for route in (r for router in routers for r in router.routes):
            if (
                isinstance(route, APIRoute)
                and route.path in self.endpoints
                and "POST" in (route.methods or ())
            ):
                if route.endpoint is not self.endpoints[route.path]:
                    raise ValueError(f"hot route {route.path} is not that POST endpoint")
                self.routes[route.path] = route
        if missing := set(self.endpoints) - set(self.routes):
            raise ValueError(f"hot routes without a FastAPI route: {sorted(missing)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.endpoints.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.routes[scope["path"]]
        request = Request(scope, receive)
        try:
            response = await endpoint(request, request.app.state.runtime)
        except AppError as exc:
            response = app_error_response(exc)
        await response(scope, receive, send)
