"""Turning a storefront's HTTP answer or a transport failure into the plugin errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from dropship_common.http import CircuitOpen, OutboundError, OutcomeUnknown, parse_retry_after
from order_intake.fulfilment.base import StorefrontRejected, StorefrontUnavailable


@asynccontextmanager
async def calling(what: str) -> AsyncIterator[None]:
    """Transport failures are temporary; an unknown outcome says so (the next attempt
    looks for what this one may have created)."""
    try:
        yield
    except OutcomeUnknown as exc:
        raise StorefrontUnavailable(f"{what}: outcome unknown ({exc.__cause__!r})") from exc
    except CircuitOpen as exc:
        raise StorefrontUnavailable(f"{what}: {exc}", retry_after=exc.retry_in) from exc
    except OutboundError as exc:  # host not allowed: a configuration error
        raise StorefrontRejected(f"{what}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise StorefrontUnavailable(f"{what}: {type(exc).__name__}") from exc


def check_status(response: httpx.Response, what: str, now: float) -> None:
    """2xx passes; 429 / 5xx are temporary (Retry-After kept); other answers are refusals."""
    status = response.status_code
    if status < 300:
        return
    text = response.text[:300]
    if status == 429 or status >= 500:
        raise StorefrontUnavailable(
            f"{what}: HTTP {status} {text}",
            retry_after=parse_retry_after(response.headers.get("retry-after"), now),
        )
    if status in (401, 403):
        raise StorefrontRejected(f"{what}: HTTP {status}, the admin credentials were refused")
    raise StorefrontRejected(f"{what}: HTTP {status} {text}")
