"""A fake WooCommerce REST API v3 store, with the Shipment Tracking extension or without.

* Basic auth with the consumer key and secret (HTTP Basic), 401 with Woo's error body
  otherwise;
* ``GET``/``PUT /wp-json/wc/v3/orders/{id}`` (status), ``GET``/``POST
  /wp-json/wc/v3/orders/{id}/notes`` (``note``, ``customer_note``);
* with the extension: ``GET``/``POST
  /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings`` (a predefined
  ``tracking_provider``, or ``custom_tracking_provider`` + ``custom_tracking_link``) and
  ``GET /wp-json/wc-shipment-tracking/v3/shipment-trackings/providers``; without it
  those routes are WordPress's 404 ``rest_no_route``.

Faults can be queued per route name (``"order"``, ``"notes"``, ``"trackings"``):
``"http_500"``, ``"http_429"``, ``"drop_response"`` (do the work, lose the answer) and
``"slow:<seconds>"``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dropship_common.testing.fakes.network import DROP_RESPONSE_HEADER

PROVIDERS: dict[str, dict[str, str]] = {
    "Global": {
        "DHL": "https://www.dhl.com/en/express/tracking.html?AWB=%1$s",
        "China Post": "https://track-chinapost.com/?trackcode=%1$s",
    },
    "United States": {
        "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s"
    },
}

_VALID_STATUSES = {
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
}


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "data": {"status": status}}, status_code=status
    )


class FakeWooCommerce:
    def __init__(
        self, consumer_key: str, consumer_secret: str, *, shipment_tracking: bool = True
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.shipment_tracking = shipment_tracking
        self.orders: dict[int, dict[str, Any]] = {}
        self.faults: dict[str, deque[str]] = {
            "order": deque(),
            "notes": deque(),
            "trackings": deque(),
        }
        self.calls: list[tuple[str, str]] = []  # (method, path) of authenticated calls
        self._note_ids = 100
        self.app = self._make_app()

    def add_order(self, order_id: int, status: str = "processing") -> None:
        self.orders[order_id] = {"id": order_id, "status": status, "notes": [], "trackings": []}

    def fail_next(self, route: str, *faults: str) -> None:
        self.faults[route].extend(faults)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.consumer_key and password == self.consumer_secret

    async def _fault(self, route: str) -> tuple[JSONResponse | None, dict[str, str], float]:
        fault = self.faults[route].popleft() if self.faults[route] else None
        if fault == "http_500":
            return _error("internal_server_error", "There has been a critical error.", 500), {}, 0
        if fault == "http_429":
            return _error("too_many_requests", "Too many requests.", 429), {}, 0
        if fault == "drop_response":
            return None, {DROP_RESPONSE_HEADER: "1"}, 0
        if fault and fault.startswith("slow:"):
            return None, {}, float(fault.split(":", 1)[1])
        return None, {}, 0

    def _make_app(self) -> FastAPI:
        app = FastAPI(title="fake WooCommerce REST")

        async def no_route(_request: Request, _exc: Exception) -> JSONResponse:
            return _error(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            )

        app.add_exception_handler(404, no_route)

        @app.middleware("http")
        async def auth(request: Request, call_next: Any) -> Any:
            if request.url.path.endswith("/shipment-trackings/providers"):
                return await call_next(request)  # public, per the extension's docs
            if not self._authorised(request):
                return _error(
                    "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401
                )
            self.calls.append((request.method, request.url.path))
            return await call_next(request)

        def order_or_404(order_id: int) -> dict[str, Any] | JSONResponse:
            order = self.orders.get(order_id)
            if order is None:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            return order

        def public(order: dict[str, Any]) -> dict[str, Any]:
            return {"id": order["id"], "status": order["status"]}

        @app.get("/wp-json/wc/v3/orders/{order_id}")
        async def get_order(order_id: int) -> Any:
            order = order_or_404(order_id)
            return order if isinstance(order, JSONResponse) else public(order)

        @app.put("/wp-json/wc/v3/orders/{order_id}")
        async def put_order(order_id: int, request: Request) -> Any:
            early, headers, delay = await self._fault("order")
            if early is not None:
                return early
            order = order_or_404(order_id)
            if isinstance(order, JSONResponse):
                return order
            body = await request.json()
            status = body.get("status")
            if status is not None:
                if status not in _VALID_STATUSES:
                    return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
                order["status"] = status
            await asyncio.sleep(delay)
            return JSONResponse(public(order), headers=headers)

        @app.get("/wp-json/wc/v3/orders/{order_id}/notes")
        async def list_notes(order_id: int) -> Any:
            order = order_or_404(order_id)
            return order if isinstance(order, JSONResponse) else list(reversed(order["notes"]))

        @app.post("/wp-json/wc/v3/orders/{order_id}/notes")
        async def add_note(order_id: int, request: Request) -> Any:
            early, headers, delay = await self._fault("notes")
            if early is not None:
                return early
            order = order_or_404(order_id)
            if isinstance(order, JSONResponse):
                return order
            body = await request.json()
            if not body.get("note"):
                return _error("rest_missing_callback_param", "Missing parameter(s): note", 400)
            self._note_ids += 1
            note = {
                "id": self._note_ids,
                "author": "WooCommerce",
                "date_created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "note": body["note"],
                "customer_note": bool(body.get("customer_note")),
            }
            order["notes"].append(note)
            await asyncio.sleep(delay)
            return JSONResponse(note, status_code=201, headers=headers)

        if not self.shipment_tracking:
            return app

        @app.get("/wp-json/wc-shipment-tracking/v3/shipment-trackings/providers")
        async def providers() -> Any:
            return PROVIDERS

        @app.get("/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings")
        async def list_trackings(order_id: int) -> Any:
            order = order_or_404(order_id)
            return order if isinstance(order, JSONResponse) else order["trackings"]

        @app.post("/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings")
        async def add_tracking(order_id: int, request: Request) -> Any:
            early, headers, delay = await self._fault("trackings")
            if early is not None:
                return early
            order = order_or_404(order_id)
            if isinstance(order, JSONResponse):
                return order
            body = await request.json()
            number = body.get("tracking_number")
            provider = body.get("tracking_provider")
            known = {name: url for group in PROVIDERS.values() for name, url in group.items()}
            if not number:
                return _error(
                    "rest_missing_callback_param", "Missing parameter(s): tracking_number", 400
                )
            if provider:
                if provider not in known:
                    return _error(
                        "rest_invalid_param", "Invalid parameter(s): tracking_provider", 400
                    )
                link = known[provider].replace("%1$s", number)
            else:
                if not body.get("custom_tracking_provider") or not body.get("custom_tracking_link"):
                    return _error(
                        "rest_missing_callback_param",
                        "Missing parameter(s): custom_tracking_provider",
                        400,
                    )
                link = str(body["custom_tracking_link"]).replace("%1$s", number)
            item = {
                "tracking_id": uuid.uuid4().hex,
                "tracking_provider": provider or "",
                "custom_tracking_provider": body.get("custom_tracking_provider") or "",
                "custom_tracking_link": body.get("custom_tracking_link") or "",
                "tracking_link": link,
                "tracking_number": number,
                "date_shipped": body.get("date_shipped") or dt.date.today().isoformat(),
            }
            order["trackings"].append(item)
            await asyncio.sleep(delay)
            return JSONResponse(item, status_code=201, headers=headers)

        return app
