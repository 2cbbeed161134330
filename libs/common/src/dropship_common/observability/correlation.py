"""Correlation ids and the service name, bound per request (``CorrelationIdMiddleware``)
or per message (:func:`bind_correlation_id`), read by the logs."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# --------------------------------------------------------------------------------------
# correlation id and service name
# --------------------------------------------------------------------------------------

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_service: ContextVar[str | None] = ContextVar("dropship_service", default=None)
_default_service: str | None = None

CORRELATION_HEADER = "X-Correlation-Id"
_INCOMING_HEADERS = (b"x-correlation-id", b"x-request-id")
# An incoming id is echoed in headers and logs: accept only a bounded, harmless charset.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def bind_correlation_id(value: str | None) -> Token[str | None]:
    """Bind ``value`` as the current correlation id; returns the token to reset it."""
    return correlation_id.set(value)


def get_correlation_id() -> str | None:
    return correlation_id.get()


def bind_service(name: str | None) -> Token[str | None]:
    """Bind the service name for logs in this context (several services share one
    process in embedded mode, so a process-wide name is not enough)."""
    return _service.set(name)


def set_default_service(name: str) -> None:
    """The process-wide service name, when no name is bound in the context."""
    global _default_service
    _default_service = name


def unbind_service(token: Token[str | None]) -> None:
    _service.reset(token)


def get_service() -> str | None:
    return _service.get() or _default_service


# --------------------------------------------------------------------------------------
# correlation id middleware
# --------------------------------------------------------------------------------------


class CorrelationIdMiddleware:
    """Take ``X-Correlation-Id`` (or ``X-Request-Id``) from the request, or make a
    uuid4 hex; bind it for the request's logs and echo it as ``X-Correlation-Id``.

    An incoming id that is too long or has characters outside ``[A-Za-z0-9._:-]`` is
    replaced by a fresh one (it would otherwise be echoed into headers and logs).
    """

    def __init__(self, app: ASGIApp, service: str | None = None) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value: str | None = None
        headers = dict(scope.get("headers") or ())
        for name in _INCOMING_HEADERS:
            raw = headers.get(name)
            if raw is not None:
                candidate = raw.decode("latin-1").strip()
                if _VALID_ID.match(candidate):
                    value = candidate
                    break
        value = value or new_correlation_id()
        header_value = value.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [
                    (k, v)
                    for k, v in message.get("headers", ())
                    if k.lower() != b"x-correlation-id"
                ]
                out.append((b"x-correlation-id", header_value))
                message = {**message, "headers": out}
            await send(message)

        token = correlation_id.set(value)
        service_token = _service.set(self.service) if self.service else None
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if service_token is not None:
                _service.reset(service_token)
            correlation_id.reset(token)
