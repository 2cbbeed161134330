"""The typed failures of an outbound call: refused by our rules, breaker open, or an
outcome we cannot know (the request may have arrived)."""

from __future__ import annotations

import httpx

# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


class OutboundError(Exception):
    """Base of the errors this module raises. Deliberately *not* an ``httpx.HTTPError``:
    a blanket ``except httpx.HTTPError`` must not swallow :class:`OutcomeUnknown`."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class HostNotAllowed(OutboundError):
    """The URL's host (or scheme) is not in the policy: nothing was sent."""


class CircuitOpen(OutboundError):
    """The host's circuit is open: nothing was sent. ``retry_in``: seconds until a
    trial request will be let through."""

    def __init__(self, host: str, retry_in: float, *, request: httpx.Request | None = None) -> None:
        super().__init__(f"circuit open for {host}; retry in {retry_in:.1f}s", request=request)
        self.host = host
        self.retry_in = retry_in


class OutcomeUnknown(OutboundError):
    """A non-idempotent request may have reached the server but no response came back.
    Look the effect up before repeating it. ``__cause__`` is the httpx error."""
