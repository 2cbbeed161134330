"""The busiest POST routes served without Starlette's routing and FastAPI's dependency
injection.

Served this way, a storefront webhook costs order-intake's API 0.28 to 0.35 ms of CPU
instead of about 0.45 ms: matching it against the routes, solving its dependencies and
FastAPI's inner middleware cost more than the rest of our code (``bench.intake``).

A hot route is still an ordinary FastAPI route (OpenAPI, tests and the router serve it
the same way). This ASGI middleware, innermost of the service's own, calls the same
endpoint function directly for an exact ``POST`` path: the outer middleware (body
limit, correlation id, metrics) still apply, and an exception goes to the app's
exception handlers as on the router."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

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
        except Exception as exc:
            handler = _handler_for(request.app.exception_handlers, exc)
            if handler is None:
                raise  # the outermost middleware answers 500, as for any route
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def _handler_for(handlers: Mapping[Any, Any], exc: Exception) -> Any:
    """The app's handler for this exception's nearest class (as Starlette's exception
    middleware picks it), except the catch-all one for ``Exception``."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
