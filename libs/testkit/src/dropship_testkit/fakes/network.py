"""An httpx transport that sends each request to the in-process fake serving its host.

A fake that has done its work and wants the caller to see a timeout instead of the
answer (the classic "committed, but the response was lost") sets
:data:`DROP_RESPONSE_HEADER`; the transport then raises ``httpx.ReadTimeout``. An unknown
host is a connection error, like a name that does not resolve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

DROP_RESPONSE_HEADER = "x-fake-drop-response"


class FakeNetwork(httpx.AsyncBaseTransport):
    def __init__(self, hosts: Mapping[str, Any] | None = None) -> None:
        self._transports: dict[str, httpx.ASGITransport] = {}
        self.requests: list[httpx.Request] = []
        for host, app in (hosts or {}).items():
            self.add(host, app)

    def add(self, host: str, app: Any) -> None:
        """``app``: an ASGI app, or a fake with an ``app`` attribute."""
        asgi = getattr(app, "app", app)
        self._transports[host.lower()] = httpx.ASGITransport(app=asgi)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        transport = self._transports.get(request.url.host.lower())
        if transport is None:
            raise httpx.ConnectError(f"no fake serves {request.url.host}", request=request)
        response = await transport.handle_async_request(request)
        if response.headers.get(DROP_RESPONSE_HEADER):
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("the fake dropped its answer", request=request)
        return response

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()
