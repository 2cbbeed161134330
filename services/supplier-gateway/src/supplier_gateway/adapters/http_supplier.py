"""Our own protocol for suppliers who integrate (docs/supplier-http-protocol.yaml).

* **Place**: ``POST {url}/orders`` with the supplier order (our id and the shipping
  notice), signed Standard-Webhooks style: ``webhook-id`` is our supplier-order id (the
  same on every retry: the supplier's idempotency key), ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 HMAC-SHA256>``. 200/201: taken (``supplier_ref``
  optional); 409: the supplier already has it; 422: refused as sent; 429/503 with
  ``Retry-After``: later; another 5xx: unknown, looked up.
* **Look up**: ``GET {url}/orders/{id}``, signed the same way over an empty body:
  200 with ``status`` (and ``supplier_ref``, ``carrier``, ``tracking_numbers``), or 404
  (sure: not there). 429/503: later (the lookup was not made); any other answer settles
  nothing (counted by the worker towards ``needs_attention``).
* **Cancel**: ``POST {url}/orders/{id}/cancel``: 200 cancelled (404: never had it), 409
  too late; 429/5xx: tried again later.

* **Notify**: ``POST {url}/notices`` with how an aftersales case about one of its
  orders was settled; ``webhook-id`` is ``notice-<case id>`` (the supplier's dedupe key:
  the same notice may arrive twice). 2xx: taken; 429/503 (``Retry-After``) and other
  5xx: later; another 4xx: refused (an operator tells the supplier instead).

They call us back at ``/v1/supplier/orders/{id}/accept|reject|ship`` with their key.
Credentials: ``url`` (the supplier's base URL, the only host called) and ``secret``
(``whsec_…``, shared with the supplier).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from dropship_common.http import parse_retry_after
from dropship_common.security import sign_standard_webhook
from supplier_gateway.adapters.base import (
    NOT_FOUND,
    AdapterContext,
    Lookup,
    NoticeRefused,
    Placed,
    PlacementRequest,
    PlacementUnknown,
    PlaceResult,
    Refused,
    SupplierError,
    SupplierMisconfigured,
    SupplierUnavailable,
)
from supplier_gateway.adapters.calls import supplier_client

KIND = "http"


def refusal_reason(response: httpx.Response) -> str:
    """The reason a refusal gives (the protocol's ``error.message``, or a ``message`` /
    ``reason``), cut short and on one line; never the raw body, which operators see as
    ``last_error``."""
    try:
        body = response.json()
    except ValueError:
        return "(no JSON reason given)"
    found: object = None
    if isinstance(body, dict):
        error = body.get("error")
        found = error.get("message") if isinstance(error, dict) else None
        found = found or body.get("message") or body.get("reason")
    if not isinstance(found, str) or not found.strip():
        return "(no reason given)"
    return " ".join(found.split())[:200]


def credential_problems(credentials: dict[str, Any]) -> list[str]:
    problems = []
    url = credentials.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        problems.append("url must be the supplier's http(s) base URL")
    secret = credentials.get("secret")
    try:
        sign_standard_webhook(str(secret or ""), "probe", 0, b"")
    except ValueError:
        problems.append("secret must be a Standard Webhooks secret (whsec_ + base64)")
    rate = credentials.get("rate_per_second")
    if rate is not None and (not isinstance(rate, int | float) or rate <= 0):
        problems.append("rate_per_second must be a positive number")
    return problems


class HttpSupplierAdapter:
    kind = KIND

    def __init__(self, credentials: dict[str, Any], context: AdapterContext) -> None:
        url, secret = credentials.get("url"), credentials.get("secret")
        if not url or not secret:
            raise ValueError("an http supplier needs credentials.url and credentials.secret")
        self.secret = str(secret)
        rate = credentials.get("rate_per_second")
        self.client = supplier_client(
            str(url).rstrip("/") + "/",
            context.settings,
            rate_per_second=float(rate) if rate else None,
            transport=context.transport,
            rate_limiter=context.rate_limiter,
        )

    def _headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        ts = int(time.time())
        return {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_standard_webhook(self.secret, msg_id, ts, body),
        }

    async def place(self, request: PlacementRequest) -> PlaceResult:
        body = json.dumps(
            {"id": request.our_number, "notice": request.notice}, separators=(",", ":")
        ).encode()
        response = await self.client.post(
            "orders", content=body, headers=self._headers(request.our_number, body)
        )
        status = response.status_code
        if status in (200, 201):
            return Placed(_ref(response))
        if status == 409:
            return Placed(_ref(response) or (await self.lookup(request.our_number)).supplier_ref)
        if status in (429, 503):
            retry = parse_retry_after(response.headers.get("retry-after"), time.time())
            raise SupplierUnavailable(f"HTTP {status}", retry)
        if status >= 500:
            raise PlacementUnknown(f"HTTP {status}")
        return Refused(f"HTTP {status}: {refusal_reason(response)}")

    async def lookup(self, our_number: str) -> Lookup:
        response = await self.client.get(
            f"orders/{our_number}", headers=self._headers(f"lookup-{our_number}", b"")
        )
        if response.status_code == 404:
            return NOT_FOUND
        if response.status_code in (429, 503):  # "later": the lookup was not made
            retry = parse_retry_after(response.headers.get("retry-after"), time.time())
            raise SupplierUnavailable(f"lookup: HTTP {response.status_code}", retry)
        if response.status_code in (401, 403):
            raise SupplierMisconfigured(f"lookup refused: HTTP {response.status_code}")
        if response.status_code != 200:  # another 5xx, …: an answer that settles nothing
            raise SupplierError(f"lookup: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise SupplierError("lookup: a 200 whose body is not JSON") from exc
        if not isinstance(data, dict):
            raise SupplierError("lookup: a 200 whose body is not an object")
        return Lookup(
            found=True,
            supplier_ref=data.get("supplier_ref"),
            status=data.get("status"),
            carrier=data.get("carrier"),
            tracking_numbers=list(data.get("tracking_numbers") or []),
            shipped=data.get("status") == "shipped" and bool(data.get("tracking_numbers")),
        )

    async def cancel(self, our_number: str, supplier_ref: str | None) -> bool:
        body = b"{}"
        response = await self.client.post(
            f"orders/{our_number}/cancel",
            content=body,
            headers=self._headers(f"cancel-{our_number}", body),
        )
        status = response.status_code
        if status in (200, 404):  # cancelled, or the supplier never had it
            return True
        if status == 409:
            return False  # too late: shipped
        if status == 429 or status >= 500:
            retry = parse_retry_after(response.headers.get("retry-after"), time.time())
            raise SupplierUnavailable(f"cancel: HTTP {status}", retry)
        if status in (401, 403):
            raise SupplierMisconfigured(f"cancel refused: HTTP {status}")
        raise SupplierError(f"cancel: HTTP {status}")

    async def notify(self, key: str, payload: dict[str, Any]) -> None:
        """Raises NoticeRefused (not retried), SupplierUnavailable (later, nothing taken)
        or SupplierError (later: a 5xx; the supplier dedupes by ``webhook-id``)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        response = await self.client.post("notices", content=body, headers=self._headers(key, body))
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (429, 503):
            retry = parse_retry_after(response.headers.get("retry-after"), time.time())
            raise SupplierUnavailable(f"notice: HTTP {status}", retry)
        if status >= 500:
            raise SupplierError(f"notice: HTTP {status}")
        raise NoticeRefused(f"HTTP {status}: {refusal_reason(response)}")

    async def aclose(self) -> None:
        await self.client.aclose()


def _ref(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    ref = data.get("supplier_ref") if isinstance(data, dict) else None
    return str(ref) if ref else None
