"""Prometheus metrics and :class:`MetricsMiddleware`, which labels requests by the
matched route template (``/orders/{order_id}``), never by the raw path."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dropship_common.observability.correlation import bind_service, unbind_service

# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests handled, by matched route template and status code",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to handle an HTTP request, by matched route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MESSAGES_CONSUMED = Counter(
    "messages_consumed",
    "Bus messages consumed, by type and outcome (ok, duplicate, failed, ignored)",
    ["service", "type", "outcome"],
)
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter(
    "outbox_published", "Outbox rows published and confirmed by the broker", ["service"]
)

UNMATCHED_ROUTE = "<unmatched>"


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Count requests and time them per ``(service, method, route template)``.

    The template comes from the route Starlette matched (``scope["route"]``), so
    ``/orders/123`` and ``/orders/456`` are one series and unknown paths (404s) are one
    ``<unmatched>`` series: the number of series stays bounded. Unknown methods are
    labelled ``OTHER`` for the same reason. The middleware also binds the service name
    for the request's logs.
    """

    _METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET").upper()
        if method not in self._METHODS:
            method = "OTHER"
        status = 500
        start = time.perf_counter()

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        service_token = bind_service(self.service)
        try:
            await self.app(scope, receive, send_recording)
        finally:
            unbind_service(service_token)
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
