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

* ``GET /wp-json/wc/v3/orders`` (orders stored with :meth:`FakeWooCommerce.put_order`)
  and ``GET``/``POST /wp-json/wc/v3/webhooks``, ``GET``/``PUT
  /wp-json/wc/v3/webhooks/{id}``, with the documented rules below.

Documented rules enforced:

* List all orders, https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders:
  ``orderby`` is one of ``date``, ``id``, ``include``, ``title``, ``slug`` (default
  ``date``; WooCommerce's code also takes ``modified``, the docs do not list it, so the
  fake refuses it), ``order`` ``asc``/``desc`` (default ``desc``), ``status`` (default
  ``any``), ``after``/``before`` (created) and ``modified_after``/``modified_before``
  (exclusive bounds) compared with the site's local dates unless ``dates_are_gmt`` is
  true; a bound written with an offset (``Z``, ``+hh:mm``) is turned into the site's
  local time first, as WordPress's ``WP_Date_Query`` does, even against the GMT dates
  (https://github.com/woocommerce/woocommerce/issues/19976). The fake's site is
  ``utc_offset`` hours off GMT, so a client that gets this wrong misses orders. Anything
  else is WordPress's 400 ``rest_invalid_param``.
* Pagination, https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination: 10
  items by default, ``page`` is 1-based, ``X-WP-Total`` / ``X-WP-TotalPages`` headers
  and a ``Link`` header (``next``, ``prev``); ``per_page`` is 1 to 100, per WordPress's
  collections, https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/
  (beyond: 400 ``rest_invalid_param``).
* Webhooks, https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks: each has
  ``status`` ``active``, ``paused`` (by an admin) or ``disabled`` (by failures: "After 5
  consecutive failed deliveries … the webhook is disabled and must be edited via the REST
  API to re-enable", see :meth:`FakeWooCommerce.delivery_failed`; WooCommerce's code
  disables at the 7th, the fake follows the docs). Setting it back to ``active`` does not
  reset the failure count (``WC_Webhook``: only a successful delivery does), so one more
  failure disables it again. Create: ``topic`` (a ``coupon|customer|order|product`` .
  ``created|updated|deleted|restored`` topic or ``action.<hook>``) and ``delivery_url``
  (HTTP or HTTPS) are mandatory, else 400 ``woocommerce_rest_webhook_invalid_topic`` /
  ``…_invalid_delivery_url``; ``secret`` is write-only (never in an answer). Update: an
  unknown status is 400 ``woocommerce_rest_webhook_invalid_status``, an unknown id 400
  ``woocommerce_rest_webhook_invalid_id`` (404 on a read). List
  (https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-webhooks): ``status``
  ``all`` (default), ``active``, ``paused``, ``disabled``; paginated as above.
* API keys, https://woocommerce.github.io/woocommerce-rest-api-docs/#rest-api-keys: a
  key has Read, Write or Read/Write permissions; a read-only key's writes are refused
  (401 ``woocommerce_rest_authentication_error``).
* Errors, https://woocommerce.github.io/woocommerce-rest-api-docs/#errors: a JSON body
  with ``code``, ``message`` and ``data.status``.

* Refunds, https://woocommerce.github.io/woocommerce-rest-api-docs/#order-refunds:
  ``POST /orders/{id}/refunds`` (``amount``, ``reason``, ``api_refund``, default true)
  and ``GET /orders/{id}/refunds``; the order's ``refunds`` list each one with a negative
  ``total``. An amount over what is left (the order's ``total`` less its refunds) is
  WooCommerce's ``woocommerce_rest_cannot_create_order_refund`` "Invalid refund amount."
  (``wc_create_refund``); ``api_refund`` with a gateway that does not support refunds is
  the same code with the gateway's words and status 500, and the refund is deleted
  (``wc_create_refund`` deletes it when ``wc_refund_payment`` fails).
* Create an order, https://woocommerce.github.io/woocommerce-rest-api-docs/#create-an-order:
  ``POST /orders`` (``status`` one of the order statuses, default ``pending``;
  ``fee_lines`` each with a ``name``; ``meta_data``, ``billing``, ``customer_id``,
  ``set_paid``); the answer is the order with its ``order_key`` and ``payment_url`` (the
  "pay for order" page, with the key) and ``date_paid`` null until paid
  (:meth:`FakeWooCommerce.pay_order`). ``GET /orders?search=`` matches the orders' item
  names (fees among them) and billing / shipping names and e-mail, as WooCommerce's
  order search does.
* Coupons, https://woocommerce.github.io/woocommerce-rest-api-docs/#coupons: ``POST
  /coupons`` (``code`` required; a code in use is 400
  ``woocommerce_rest_coupon_code_already_exists``), ``GET /coupons?code=`` finds it.

Faults can be queued per route name (``"order"`` (its ``PUT``), ``"order_read"`` (its
``GET``), ``"order_create"`` (``POST /orders``), ``"notes"``, ``"trackings"``,
``"orders_list"``, ``"webhooks"``):
``"http_500"``, ``"http_429"``, ``"drop_response"`` (do the work, lose the answer) and
``"slow:<seconds>"``.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import math
import uuid
from collections import deque
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams

from dropship_testkit.fakes.network import DROP_RESPONSE_HEADER

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


_ORDERBY = {"date", "id", "include", "title", "slug"}
_ORDER_LIST_STATUSES = _VALID_STATUSES | {"any", "trash"}
_WEBHOOK_STATUSES = {"active", "paused", "disabled"}
_WEBHOOK_RESOURCES = {"coupon", "customer", "order", "product"}
_WEBHOOK_EVENTS = {"created", "updated", "deleted", "restored"}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
DISABLE_AFTER_FAILURES = 5


class _Invalid(Exception):
    """A query parameter WordPress's schema validation refuses."""


NO_REFUND = "woocommerce_rest_cannot_create_order_refund"


def _refund_out(refund: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": refund["id"],
        "amount": refund["amount"],
        "reason": refund["reason"],
        "refunded_payment": refund["refunded_payment"],
    }


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "data": {"status": status}}, status_code=status
    )


class FakeWooCommerce:
    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        shipment_tracking: bool = True,
        utc_offset_hours: float = -5.0,
        permissions: str = "read_write",
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.shipment_tracking = shipment_tracking
        self.permissions = permissions  # the key's: read, write or read_write
        self.orders: dict[int, dict[str, Any]] = {}
        self.faults: dict[str, deque[str]] = {
            "order": deque(),
            "notes": deque(),
            "trackings": deque(),
        }
        self.faults.update({"orders_list": deque(), "webhooks": deque(), "order_read": deque()})
        self.faults.update({"refunds": deque(), "coupons": deque(), "order_create": deque()})
        self.created: list[int] = []  # orders made through POST /orders
        self.coupons: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []  # (method, path) of authenticated calls
        self.queries: list[tuple[str, dict[str, str]]] = []  # (path, params) of list calls
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.utc_offset = dt.timedelta(hours=utc_offset_hours)
        self._note_ids = 100
        self._webhook_ids = 1000
        self.app = self._make_app()

    def add_order(self, order_id: int, status: str = "processing") -> None:
        self.orders[order_id] = {"id": order_id, "status": status, "notes": [], "trackings": []}

    def set_payment(
        self, order_id: int, total: str, currency: str, *, gateway_refunds: bool = True
    ) -> None:
        """What the order was paid (``total``) and whether its gateway refunds."""
        order = self.orders[order_id]
        order.update(total=total, currency=currency, gateway_refunds=gateway_refunds)
        order.setdefault("refunds", [])

    def _created_order(
        self, body: dict[str, Any], status: str, fees: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """An order made through ``POST /orders``: its ``payment_url`` is the store's
        "pay for order" page (with the order's key), ``needs_payment`` until paid."""
        order_id = max([*self.orders, 5000]) + 1
        now = dt.datetime.now(dt.UTC)
        key = f"wc_order_{uuid.uuid4().hex[:13]}"
        total = sum((Decimal(f["total"]) for f in fees), Decimal(0))
        self._note_ids += 1
        resource = {
            "id": order_id,
            "number": str(order_id),
            "order_key": key,
            "status": status,
            "currency": body.get("currency") or "USD",
            "customer_id": int(body.get("customer_id") or 0),
            "billing": body.get("billing") or {},
            "line_items": body.get("line_items") or [],
            "fee_lines": [{**f, "id": self._note_ids + n} for n, f in enumerate(fees)],
            "meta_data": [
                {"id": self._note_ids + 100 + n, **m}
                for n, m in enumerate(body.get("meta_data") or [])
            ],
            "total": str(total),
            "date_created_gmt": _wp_date(now),
            "date_created": _wp_date(now + self.utc_offset),
            "date_paid": None,
            "needs_payment": not body.get("set_paid") and status == "pending",
            "payment_url": f"https://fake-woo.example/checkout/order-pay/{order_id}/"
            f"?pay_for_order=true&key={key}",
        }
        self.put_order(resource, now)
        self.orders[order_id].update(total=str(total), currency=resource["currency"])
        self.created.append(order_id)
        return resource

    def pay_order(self, order_id: int) -> None:
        """The buyer paid on the "pay for order" page: ``processing``, ``date_paid``."""
        resource = self.orders[order_id]["resource"]
        now = dt.datetime.now(dt.UTC)
        resource.update(status="processing", date_paid=_wp_date(now), needs_payment=False)
        self.put_order(resource, now)

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        return list(self.orders[order_id].get("refunds") or [])

    def put_order(self, resource: dict[str, Any], modified: dt.datetime) -> None:
        """Store (or change) a whole order resource, modified at ``modified`` (UTC): its
        ``date_modified_gmt`` and local ``date_modified`` are set from it."""
        order_id = int(resource["id"])
        body = copy.deepcopy(resource)
        body["date_modified_gmt"] = _wp_date(modified)
        body["date_modified"] = _wp_date(modified + self.utc_offset)
        if order_id not in self.orders:
            self.add_order(order_id, str(body.get("status") or "processing"))
        self.orders[order_id]["status"] = body.get("status") or self.orders[order_id]["status"]
        self.orders[order_id]["resource"] = body

    def add_webhook(
        self, topic: str, delivery_url: str, *, status: str = "active", secret: str = "x"
    ) -> int:
        self._webhook_ids += 1
        now = dt.datetime.now(dt.UTC)
        self.webhooks[self._webhook_ids] = {
            "id": self._webhook_ids,
            "name": topic,
            "status": status,
            "topic": topic,
            "resource": topic.split(".", 1)[0],
            "event": topic.split(".", 1)[-1],
            "hooks": [],
            "delivery_url": delivery_url,
            "secret": secret,
            "failure_count": 0,
            "date_created_gmt": _wp_date(now),
            "date_created": _wp_date(now + self.utc_offset),
            "date_modified_gmt": _wp_date(now),
            "date_modified": _wp_date(now + self.utc_offset),
        }
        return self._webhook_ids

    def delivery_succeeded(self, webhook_id: int) -> None:
        self.webhooks[webhook_id]["failure_count"] = 0

    def delivery_failed(self, webhook_id: int) -> None:
        """A delivery answered with a non-2xx: the fifth in a row disables the webhook."""
        hook = self.webhooks[webhook_id]
        hook["failure_count"] += 1
        if hook["failure_count"] >= DISABLE_AFTER_FAILURES:
            hook["status"] = "disabled"

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
            if request.method != "GET" and self.permissions == "read":
                return _error(
                    "woocommerce_rest_authentication_error",
                    "The API key provided does not have write permissions.",
                    401,
                )
            self.calls.append((request.method, request.url.path))
            return await call_next(request)

        def order_or_404(order_id: int) -> dict[str, Any] | JSONResponse:
            order = self.orders.get(order_id)
            if order is None:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            return order

        def public(order: dict[str, Any]) -> dict[str, Any]:
            money = {
                "total": order["total"],
                "currency": order["currency"],
                "refunds": [
                    {"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']}"}
                    for r in order.get("refunds") or []
                ],
            } if "total" in order else {}  # fmt: skip
            if "resource" in order:
                return {**order["resource"], "status": order["status"], **money}
            return {"id": order["id"], "status": order["status"], **money}

        @app.get("/wp-json/wc/v3/orders")
        async def list_orders(request: Request) -> Any:
            early, headers, delay = await self._fault("orders_list")
            if early is not None:
                return early
            params = request.query_params
            self.queries.append((request.url.path, dict(params)))
            try:
                found = self._orders_matching(params)
                page, per_page = _paging(params)
            except _Invalid as exc:
                return _error("rest_invalid_param", f"Invalid parameter(s): {exc}", 400)
            await asyncio.sleep(delay)
            return _page(request, [public(o) for o in found], page, per_page, headers)

        @app.get("/wp-json/wc/v3/webhooks")
        async def list_webhooks(request: Request) -> Any:
            early, headers, delay = await self._fault("webhooks")
            if early is not None:
                return early
            await asyncio.sleep(delay)
            params = request.query_params
            self.queries.append((request.url.path, dict(params)))
            status = params.get("status", "all")
            try:
                if status not in _WEBHOOK_STATUSES | {"all"}:
                    raise _Invalid("status")
                page, per_page = _paging(params)
            except _Invalid as exc:
                return _error("rest_invalid_param", f"Invalid parameter(s): {exc}", 400)
            hooks = [
                _hook_out(h)
                for h in sorted(self.webhooks.values(), key=lambda h: h["id"], reverse=True)
                if status == "all" or h["status"] == status
            ]
            return _page(request, hooks, page, per_page, headers)

        def hook_or_404(webhook_id: int) -> dict[str, Any] | JSONResponse:
            hook = self.webhooks.get(webhook_id)
            if hook is None:
                return _error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            return hook

        @app.get("/wp-json/wc/v3/webhooks/{webhook_id}")
        async def get_webhook(webhook_id: int) -> Any:
            hook = hook_or_404(webhook_id)
            return hook if isinstance(hook, JSONResponse) else _hook_out(hook)

        @app.post("/wp-json/wc/v3/webhooks")
        async def create_webhook(request: Request) -> Any:
            early, headers, delay = await self._fault("webhooks")
            if early is not None:
                return early
            body = await request.json()
            topic, url = body.get("topic"), body.get("delivery_url")
            if not topic or not _valid_topic(str(topic)):
                return _error(
                    "woocommerce_rest_webhook_invalid_topic",
                    "Webhook topic is required and must be valid.",
                    400,
                )
            if not url or not str(url).startswith(("http://", "https://")):
                return _error(
                    "woocommerce_rest_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                    400,
                )
            status = body.get("status", "active")
            if status not in _WEBHOOK_STATUSES:
                return _error(
                    "woocommerce_rest_webhook_invalid_status", "Webhook status must be valid.", 400
                )
            webhook_id = self.add_webhook(
                str(topic), str(url), status=status, secret=str(body.get("secret") or "")
            )
            if body.get("name"):
                self.webhooks[webhook_id]["name"] = str(body["name"])
            await asyncio.sleep(delay)
            return JSONResponse(
                _hook_out(self.webhooks[webhook_id]), status_code=201, headers=headers
            )

        @app.put("/wp-json/wc/v3/webhooks/{webhook_id}")
        async def update_webhook(webhook_id: int, request: Request) -> Any:
            early, headers, delay = await self._fault("webhooks")
            if early is not None:
                return early
            hook = self.webhooks.get(webhook_id)
            if hook is None:
                return _error("woocommerce_rest_webhook_invalid_id", "ID is invalid.", 400)
            body = await request.json()
            status = body.get("status")
            if status:
                if status not in _WEBHOOK_STATUSES:
                    return _error(
                        "woocommerce_rest_webhook_invalid_status",
                        "Webhook status must be valid.",
                        400,
                    )
                hook["status"] = status  # the failure count stays
            if body.get("name"):
                hook["name"] = str(body["name"])
            await asyncio.sleep(delay)
            return JSONResponse(_hook_out(hook), headers=headers)

        @app.post("/wp-json/wc/v3/orders")
        async def create_order(request: Request) -> Any:
            early, headers, delay = await self._fault("order_create")
            if early is not None:
                return early
            body = await request.json()
            status = body.get("status", "pending")
            if status not in _VALID_STATUSES:
                return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
            fees = []
            for fee in body.get("fee_lines") or []:
                if not fee.get("name"):
                    return _error("rest_invalid_param", "Invalid parameter(s): fee_lines", 400)
                try:
                    fees.append({**fee, "total": str(Decimal(str(fee.get("total") or "0")))})
                except ArithmeticError:
                    return _error("rest_invalid_param", "Invalid parameter(s): fee_lines", 400)
            resource = self._created_order(body, status, fees)
            await asyncio.sleep(delay)
            return JSONResponse(public(self.orders[resource["id"]]), status_code=201,
                                headers=headers)  # fmt: skip

        @app.get("/wp-json/wc/v3/orders/{order_id}")
        async def get_order(order_id: int) -> Any:
            early, headers, delay = await self._fault("order_read")
            if early is not None:
                return early
            order = order_or_404(order_id)
            await asyncio.sleep(delay)
            if isinstance(order, JSONResponse):
                return order
            return JSONResponse(public(order), headers=headers)

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

        @app.get("/wp-json/wc/v3/orders/{order_id}/refunds")
        async def list_refunds(order_id: int) -> Any:
            order = order_or_404(order_id)
            if isinstance(order, JSONResponse):
                return order
            return [_refund_out(r) for r in reversed(order.get("refunds") or [])]

        @app.post("/wp-json/wc/v3/orders/{order_id}/refunds")
        async def add_refund(order_id: int, request: Request) -> Any:
            early, headers, delay = await self._fault("refunds")
            if early is not None:
                return early
            order = order_or_404(order_id)
            if isinstance(order, JSONResponse):
                return order
            body = await request.json()
            try:
                amount = Decimal(str(body.get("amount") or "0"))
            except ArithmeticError:
                amount = Decimal(0)
            refunds = order.setdefault("refunds", [])
            left = Decimal(str(order.get("total") or "0")) - sum(
                (Decimal(r["amount"]) for r in refunds), Decimal(0)
            )
            if amount <= 0 or amount > left:
                return _error(NO_REFUND, "Invalid refund amount.", 400)
            if body.get("api_refund", True) and not order.get("gateway_refunds", True):
                return _error(NO_REFUND, "The payment gateway for this order does not support"
                              " automatic refunds.", 500)  # fmt: skip
            self._note_ids += 1
            refund = {"id": self._note_ids, "amount": str(amount),
                      "reason": str(body.get("reason") or ""),
                      "refunded_payment": bool(body.get("api_refund", True))}  # fmt: skip
            refunds.append(refund)
            await asyncio.sleep(delay)
            return JSONResponse(_refund_out(refund), status_code=201, headers=headers)

        @app.get("/wp-json/wc/v3/coupons")
        async def list_coupons(request: Request) -> Any:
            code = request.query_params.get("code")
            return [c for c in self.coupons if code is None or c["code"] == code.lower()]

        @app.post("/wp-json/wc/v3/coupons")
        async def add_coupon(request: Request) -> Any:
            early, headers, delay = await self._fault("coupons")
            if early is not None:
                return early
            body = await request.json()
            code = str(body.get("code") or "").strip().lower()  # WooCommerce keeps codes lower case
            if not code:
                return _error("rest_missing_callback_param", "Missing parameter(s): code", 400)
            if any(c["code"] == code for c in self.coupons):
                return _error("woocommerce_rest_coupon_code_already_exists",
                              "The coupon code already exists", 400)  # fmt: skip
            self._note_ids += 1
            coupon = {**body, "id": self._note_ids, "code": code}
            self.coupons.append(coupon)
            await asyncio.sleep(delay)
            return JSONResponse(coupon, status_code=201, headers=headers)

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

    def _orders_matching(self, params: QueryParams) -> list[dict[str, Any]]:
        orderby = params.get("orderby", "date")
        order = params.get("order", "desc")
        if orderby not in _ORDERBY:
            raise _Invalid("orderby")
        if order not in ("asc", "desc"):
            raise _Invalid("order")
        gmt = _BOOLEANS.get(params.get("dates_are_gmt", "false"))
        if gmt is None:
            raise _Invalid("dates_are_gmt")
        statuses = set(params.getlist("status") or ["any"])
        if not statuses <= _ORDER_LIST_STATUSES:
            raise _Invalid("status")
        bounds = {
            name: _iso(params[name], name, self.utc_offset)
            for name in ("after", "before", "modified_after", "modified_before")
            if name in params
        }
        suffix = "_gmt" if gmt else ""
        search = (params.get("search") or "").lower()
        found = []
        for order_row in self.orders.values():
            resource = order_row.get("resource")
            if resource is None:
                continue
            if search and search not in _searchable(resource):
                continue
            if "any" not in statuses and order_row["status"] not in statuses:
                continue
            if "any" in statuses and order_row["status"] == "trash":
                continue
            created = dt.datetime.fromisoformat(resource["date_created" + suffix])
            modified = dt.datetime.fromisoformat(resource["date_modified" + suffix])
            if "after" in bounds and not created > bounds["after"]:
                continue
            if "before" in bounds and not created < bounds["before"]:
                continue
            if "modified_after" in bounds and not modified > bounds["modified_after"]:
                continue
            if "modified_before" in bounds and not modified < bounds["modified_before"]:
                continue
            found.append(order_row)

        def key(row: dict[str, Any]) -> Any:
            if orderby == "date":
                return (row["resource"]["date_created_gmt"], row["id"])
            return row["id"]

        return sorted(found, key=key, reverse=order == "desc")


def _searchable(resource: dict[str, Any]) -> str:
    """What ``search`` looks in: the order's item names (products, fees, shipping) and
    its billing and shipping names and e-mail (WooCommerce's order search: the address
    index and ``order_item_name``)."""
    names = [
        str(item.get("name") or item.get("method_title") or "")
        for kind in ("line_items", "fee_lines", "shipping_lines")
        for item in resource.get(kind) or []
    ]
    for part in ("billing", "shipping"):
        address = resource.get(part) or {}
        names += [str(address.get(k) or "") for k in ("first_name", "last_name", "email")]
    return " ".join(names).lower()


def _wp_date(value: dt.datetime) -> str:
    """WordPress writes dates without a zone, to the second."""
    return value.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _iso(value: str, name: str, utc_offset: dt.timedelta) -> dt.datetime:
    """An ISO 8601 bound as WordPress compares it: as written, or, when it carries an
    offset, turned into the site's local time (whatever column it is compared with)."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Invalid(name) from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None) + utc_offset
    return parsed


def _paging(params: QueryParams) -> tuple[int, int]:
    try:
        page = int(params.get("page", "1"))
    except ValueError as exc:
        raise _Invalid("page") from exc
    try:
        per_page = int(params.get("per_page", "10"))
    except ValueError as exc:
        raise _Invalid("per_page") from exc
    if page < 1:
        raise _Invalid("page")
    if not 1 <= per_page <= 100:
        raise _Invalid("per_page (must be between 1 (inclusive) and 100 (inclusive))")
    return page, per_page


def _page(
    request: Request,
    items: list[dict[str, Any]],
    page: int,
    per_page: int,
    headers: dict[str, str],
) -> JSONResponse:
    total = len(items)
    pages = max(1, math.ceil(total / per_page)) if total else 0
    links = []
    if page < pages:
        links.append(f'<{request.url.include_query_params(page=page + 1)}>; rel="next"')
    if page > 1:
        links.append(f'<{request.url.include_query_params(page=page - 1)}>; rel="prev"')
    out = {**headers, "X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        out["Link"] = ", ".join(links)
    return JSONResponse(items[(page - 1) * per_page : page * per_page], headers=out)


def _valid_topic(topic: str) -> bool:
    if topic.startswith("action.") and len(topic) > len("action."):
        return True
    resource, _, event = topic.partition(".")
    return resource in _WEBHOOK_RESOURCES and event in _WEBHOOK_EVENTS


def _hook_out(hook: dict[str, Any]) -> dict[str, Any]:
    """The webhook resource: ``secret`` is write-only."""
    return {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}
