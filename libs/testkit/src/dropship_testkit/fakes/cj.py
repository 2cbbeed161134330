"""A fake CJdropshipping API 2.0, as its documentation describes it.

The documented rules it enforces (CJ API 2.0, https://developers.cjdropshipping.com/en/api/api2/):

* ``POST /api2.0/v1/authentication/getAccessToken`` (``apiKey``; "Can only be called
  once every 5 minutes", else 429 / 1600200) and ``refreshAccessToken``
  (``refreshToken``): tokens expire after ``token_ttl`` (CJ: 15 days); an expired or
  unknown token is code 1600001; the answer carries ``openId``, the webhook signing
  secret (https://developers.cjdropshipping.com/en/api/api2/api/auth.html).
* The account's QPS: more calls in one second than ``qps`` get HTTP 429, code 1600200
  (https://developers.cjdropshipping.com/en/api/start/limit.html).
* ``POST shopping/order/createOrderV2``
  (https://developers.cjdropshipping.com/en/api/api2/api/shopping.html): the fields
  marked required (``orderNumber``, ``shippingCountryCode``, ``shippingCountry``,
  ``shippingProvince``, ``shippingCity``, ``shippingCustomerName``,
  ``shippingAddress``, ``logisticName``, ``fromCountryCode``, ``products``) present as
  text, within the documented lengths; ``shippingCountryCode`` and ``fromCountryCode``
  two-letter codes ("Please use The two-letter code"); each product with a
  ``quantity`` and a ``vid`` or ``sku`` ("vid and sku cannot both be null"). Else
  code 1600300 "Param error". One order per ``orderNumber``; a second one with the
  same number is refused (code 1603000). The body is kept (``FakeOrder.body``): the
  docs do not say what CJ does with an ISO code in ``shippingCountry`` ("Country of
  destination"), so tests check what we send rather than the fake refusing it.
* ``GET shopping/order/getOrderDetail?orderId=`` (CJ id or our ``orderNumber``: "support:
  Custom order id, CJ order id"); an order it does not have is code ``not_found_code``:
  1600300 "order not found" by default (that page's own error table,
  https://developers.cjdropshipping.com/en/api/api2/api/shopping.html, "1.7 Query
  Order"), or 1603100 "Order not found" (the global table,
  https://developers.cjdropshipping.cn/en/api/api2/standard/ps-code.html).
* ``GET shopping/order/list`` (same page, "1.6 List Order"): ``pageNum`` (default 1),
  ``pageSize`` (default 20), ``orderIds`` (string[], at most 100, as repeated keys),
  ``status`` (one of CREATED, IN_CART, UNPAID, UNSHIPPED, SHIPPED, DELIVERED, CANCELLED,
  OTHER; another value is 1600300 "Param error"); answers ``{pageNum, pageSize, total,
  list}`` with each order's ``orderId, orderNum, cjOrderId, orderStatus, logisticName,
  trackNumber, …``. Undocumented, and chosen here: ``orderIds`` matches CJ's id or our
  order number (as getOrderDetail's ``orderId`` does, and as CJ's MCP server uses it),
  and no ``status`` lists every status (as CJ's MCP server reads it; the page says
  "default: CANCELLED"). Newest first.
* ``DELETE shopping/order/deleteOrder?orderId=``.
* Webhooks (https://developers.cjdropshipping.com/en/api/start/webhook.html,
  https://developers.cjdropshipping.cn/en/api/start/webhook.html):
  ``ship(order_number, …)`` makes CJ ship an order; :meth:`FakeCJ.callback` builds the
  documented ``LOGISTIC`` message (type singular; ``params.orderId`` CJ's id as a JSON
  number, ``logisticName``, ``trackingNumber``, optional ``trackingUrl``,
  ``trackingStatus``, ``logisticsTrackEvents`` a JSON-encoded *string*) or ``ORDER``
  message (``orderNumber`` our number, ``cjOrderId`` a number, ``orderStatus``,
  ``trackNumber``, optional ``trackingUrl``, dates as ``yyyy-MM-dd HH:mm:ss``,
  ``orderItems``), and :meth:`FakeCJ.message` any other type. Each is signed as CJ
  signs: the ``sign`` header is the base64 HMAC-SHA256 of the raw body keyed with the
  account's ``openId`` (the value getAccessToken returns).

Faults for tests: ``create_faults`` is a list of what the next ``createOrderV2`` calls
do instead of answering normally: ``"500"`` (nothing created), ``"busy"`` (1600000),
``"429:<seconds>"`` (HTTP 429 with Retry-After, nothing created), ``"hang"`` (the order
is created, then no answer comes: the client times out). ``down = True`` answers every
call with HTTP 500. ``lookup_faults`` and ``list_faults`` do the same for the next
``getOrderDetail`` and ``order/list`` calls: ``"500"``, ``"busy"``, ``"429:<seconds>"``,
or ``"code:<n>"`` (CJ's envelope with code n, e.g. 1600100 "Interface is offline" or
1600301 "Read timed out": answers that say nothing about the order).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dropship_common.security import hmac_sha256_base64

API = "/api2.0/v1"
LIST_STATES = frozenset(
    {"CREATED", "IN_CART", "UNPAID", "UNSHIPPED", "SHIPPED", "DELIVERED", "CANCELLED", "OTHER"}
)
# messages of the global error table (ps-code.html) and getOrderDetail's own table
ERROR_MESSAGES = {
    1600100: "Interface is offline",
    1600300: "order not found",
    1600301: "Read timed out",
    1603001: "Order confirm fail",
    1603100: "Order not found, please check the CJ order id",
}
CN = dt.timezone(dt.timedelta(hours=8))


@dataclass
class FakeOrder:
    order_id: str
    order_number: str
    body: dict[str, Any]
    status: str = "CREATED"
    logistic_name: str | None = None
    track_number: str | None = None
    tracking_url: str | None = None
    tracking_status: int = 1  # CJ's trackingStatus: 1 warehouse outbound … 12 signed for


# createOrderV2's required fields and the documented lengths (None: no length given)
CREATE_REQUIRED = (
    "orderNumber",
    "shippingCountryCode",
    "shippingCountry",
    "shippingProvince",
    "shippingCity",
    "shippingCustomerName",
    "shippingAddress",
    "logisticName",
    "fromCountryCode",
)
CREATE_LENGTHS = {
    "orderNumber": 50,
    "shippingZip": 20,
    "shippingCountryCode": 20,
    "shippingCountry": 50,
    "shippingProvince": 50,
    "shippingCity": 50,
    "shippingCounty": 50,
    "shippingPhone": 20,
    "shippingCustomerName": 50,
    "shippingAddress": 200,
    "shippingAddress2": 200,
    "houseNumber": 20,
    "email": 50,
    "taxId": 20,
    "remark": 500,
    "consigneeID": 20,
    "logisticName": 50,
    "fromCountryCode": 20,
}


def create_order_problems(body: Any) -> list[str]:
    """What createOrderV2's documented field rules refuse in ``body``."""
    if not isinstance(body, dict):
        return ["the body is not an object"]
    problems = [f"{name} is required" for name in CREATE_REQUIRED if body.get(name) is None]
    for name, length in CREATE_LENGTHS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > length):
            problems.append(f"{name} must be text of at most {length} characters")
    for name in ("shippingCountryCode", "fromCountryCode"):
        code = body.get(name)
        if isinstance(code, str) and not (len(code) == 2 and code.isalpha()):
            problems.append(f"{name}: please use the two-letter code")
    products = body.get("products")
    if not isinstance(products, list) or not products:
        problems.append("products is required")
    else:
        for item in products:
            if not isinstance(item, dict) or not isinstance(item.get("quantity"), int):
                problems.append("each product needs a quantity")
            elif item.get("vid") is None and item.get("sku") is None:
                problems.append("vid and sku cannot both be null")
    return problems


def _cj_time(at: dt.datetime) -> str:
    return at.astimezone(CN).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class FakeCJ:
    api_key: str = "CJ1234567@api@0123456789abcdef"
    open_id: int = 1234567
    qps: int = 1
    token_ttl: dt.timedelta = dt.timedelta(days=15)
    refresh_ttl: dt.timedelta = dt.timedelta(days=180)
    token_interval: float = 300.0
    wall: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    mono: Callable[[], float] = time.monotonic
    create_faults: list[str] = field(default_factory=list)
    not_found_code: int = 1600300  # getOrderDetail's "order not found" (or 1603100)
    lookup_faults: list[str] = field(default_factory=list)
    list_faults: list[str] = field(default_factory=list)
    down: bool = False
    orders: dict[str, FakeOrder] = field(default_factory=dict)  # by orderNumber
    calls: list[tuple[float, str, str]] = field(default_factory=list)  # (time, method, path)
    tokens: dict[str, dt.datetime] = field(default_factory=dict)
    refresh_tokens: dict[str, dt.datetime] = field(default_factory=dict)
    _last_issue: float | None = None
    _recent: deque[float] = field(default_factory=deque)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    # -- helpers for tests -------------------------------------------------------------

    def count(self, path_end: str) -> int:
        return sum(1 for _, _, p in self.calls if p.endswith(path_end))

    def times(self, path_end: str) -> list[float]:
        return [t for t, _, p in self.calls if p.endswith(path_end)]

    def ship(
        self,
        order_number: str,
        logistic_name: str,
        track_number: str,
        tracking_url: str | None = None,
    ) -> FakeOrder:
        order = self.orders[order_number]
        order.status, order.logistic_name, order.track_number = (
            "SHIPPED",
            logistic_name,
            track_number,
        )
        order.tracking_url = tracking_url
        return order

    def callback(
        self, kind: str, order: FakeOrder, *, message_type: str = "UPDATE"
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook message about ``order`` as CJ pushes it, and its headers (``sign``).
        ``kind``: ``LOGISTIC`` or ``ORDER`` as documented; ``LOGISTICS`` (the spelling
        of CJ's settings key) builds the LOGISTIC params under that type."""
        if kind == "ORDER":
            return self.message(kind, self._order_params(order), message_type=message_type)
        events = [
            {
                "status": order.tracking_status,
                "activity": "Warehouse outbound",
                "location": "Shenzhen",
                "eventTime": _cj_time(self.wall()),
                "statusDesc": "Warehouse outbound",
            }
        ]
        params: dict[str, Any] = {
            "orderId": int(order.order_id),
            "logisticName": order.logistic_name,
            "trackingNumber": order.track_number,
            "trackingStatus": order.tracking_status,
            "logisticsTrackEvents": json.dumps(events),
        }
        if order.tracking_url is not None:
            params["trackingUrl"] = order.tracking_url
        return self.message(kind, params, message_type=message_type)

    def _order_params(self, order: FakeOrder) -> dict[str, Any]:
        now = _cj_time(self.wall())
        params: dict[str, Any] = {
            "orderNumber": order.order_number,
            "cjOrderId": int(order.order_id),
            "orderStatus": order.status,
            "logisticName": order.logistic_name,
            "trackNumber": order.track_number,
            "createDate": now,
            "updateDate": now,
            "payDate": None,
            "deliveryDate": None,
            "completeDate": None,
            "orderItems": [
                {
                    "vid": item.get("vid"),
                    "quantity": item.get("quantity"),
                    "sellPrice": 3.1,
                    "storeLineItemId": item.get("storeLineItemId"),
                    "lineItemId": f"{order.order_id}-{n}",
                    "productionOrderStatus": None,
                    "abnormalType": [],
                }
                for n, item in enumerate(order.body.get("products", []))
            ],
        }
        if order.tracking_url is not None:
            params["trackingUrl"] = order.tracking_url
        return params

    def message(
        self,
        kind: str,
        params: Any,
        *,
        message_type: str = "UPDATE",
        message_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """Any webhook message (the documented envelope), signed."""
        body = json.dumps(
            {
                "messageId": message_id or uuid.uuid4().hex,
                "type": kind,
                "messageType": message_type,
                "openId": self.open_id,
                "params": params,
            }
        ).encode()
        return body, {"content-type": "application/json", "sign": self.sign(body)}

    def sign(self, body: bytes) -> str:
        return hmac_sha256_base64(str(self.open_id), body)

    def release(self) -> None:
        """Let hung calls end (before the server stops)."""
        self._release.set()

    # -- the protocol ------------------------------------------------------------------

    def _answer(self, data: Any, code: int = 200, message: str = "Success") -> JSONResponse:
        return JSONResponse(
            {
                "code": code,
                "result": code == 200,
                "message": message,
                "data": data,
                "requestId": str(uuid.uuid4()),
            }
        )

    def _too_many(self, retry_after: str | None = None) -> JSONResponse:
        headers = {"Retry-After": retry_after} if retry_after else None
        return JSONResponse(
            {
                "code": 1600200,
                "result": False,
                "message": "Too Many Requests, QPS limit is 1 time/1second",
                "data": None,
                "requestId": str(uuid.uuid4()),
            },
            status_code=429,
            headers=headers,
        )

    def _fault(self, faults: list[str]) -> Response | None:
        """What the next call does instead of answering (see the module's docstring)."""
        fault = faults.pop(0) if faults else None
        if fault is None:
            return None
        if fault == "500":
            return Response("internal error", status_code=500)
        if fault == "busy":
            return self._answer(None, 1600000, "System busy, please contact CJ IT")
        if fault.startswith("429:"):
            return self._too_many(fault.split(":", 1)[1])
        if fault.startswith("code:"):
            code = int(fault.split(":", 1)[1])
            return self._answer(None, code, ERROR_MESSAGES.get(code, "error"))
        raise ValueError(f"unknown fault {fault!r}")

    def _issue(self) -> dict[str, Any]:
        now = self.wall()
        token, refresh = uuid.uuid4().hex, uuid.uuid4().hex
        self.tokens[token] = now + self.token_ttl
        self.refresh_tokens[refresh] = now + self.refresh_ttl
        return {
            "openId": self.open_id,
            "accessToken": token,
            "accessTokenExpiryDate": (now + self.token_ttl).astimezone(CN).isoformat(),
            "refreshToken": refresh,
            "refreshTokenExpiryDate": (now + self.refresh_ttl).astimezone(CN).isoformat(),
            "createDate": now.astimezone(CN).isoformat(),
        }

    def _over_qps(self) -> bool:
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.qps:
            return True
        self._recent.append(now)
        return False

    def _authorized(self, request: Request) -> bool:
        expires = self.tokens.get(request.headers.get("CJ-Access-Token", ""))
        return expires is not None and self.wall() < expires

    def _find(self, key: str) -> FakeOrder | None:
        return self.orders.get(key) or next(
            (o for o in self.orders.values() if o.order_id == key), None
        )

    def _detail(self, order: FakeOrder) -> dict[str, Any]:
        return {
            "orderId": order.order_id,
            "orderNum": order.order_number,
            "cjOrderId": order.order_id,
            "shippingCountryCode": order.body.get("shippingCountryCode"),
            "orderStatus": order.status,
            "logisticName": order.logistic_name,
            "trackNumber": order.track_number,
            **({"trackingUrl": order.tracking_url} if order.tracking_url is not None else {}),
            "productList": order.body.get("products", []),
        }

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            self.calls.append((time.monotonic(), request.method, request.url.path))
            if self.down:
                return Response("upstream unavailable", status_code=500)
            response: Response = await call_next(request)
            return response

        @app.post(f"{API}/authentication/getAccessToken")
        async def get_access_token(request: Request) -> Response:
            body = await request.json()
            now = self.mono()
            if self._last_issue is not None and now - self._last_issue < self.token_interval:
                return self._too_many()
            if body.get("apiKey") != self.api_key:  # (not the account: its limit untouched)
                return self._answer(None, 1600001, "Invalid API key or access token")
            self._last_issue = now
            return self._answer(self._issue())

        @app.post(f"{API}/authentication/refreshAccessToken")
        async def refresh_access_token(request: Request) -> Response:
            body = await request.json()
            expires = self.refresh_tokens.pop(body.get("refreshToken", ""), None)
            if expires is None or self.wall() >= expires:
                return self._answer(None, 1600003, "Invalid Refresh token")
            return self._answer(self._issue())

        @app.post(f"{API}/shopping/order/createOrderV2")
        async def create_order(request: Request) -> Response:
            if self._over_qps():
                return self._too_many()
            if not self._authorized(request):
                return self._answer(None, 1600001, "Invalid API key or access token")
            body = await request.json()
            fault = self.create_faults.pop(0) if self.create_faults else None
            if fault == "500":
                return Response("internal error", status_code=500)
            if fault == "busy":
                return self._answer(None, 1600000, "System busy")
            if fault and fault.startswith("429:"):
                return self._too_many(fault.split(":", 1)[1])
            number = str(body.get("orderNumber") or "")
            problems = create_order_problems(body)
            if not number or problems:
                return self._answer(None, 1600300, f"Param error: {'; '.join(problems)}")
            if number in self.orders:
                return self._answer(None, 1603000, f"orderNumber {number} already exists")
            order = FakeOrder(
                order_id=str(1800000000000000000 + len(self.orders)), order_number=number, body=body
            )
            self.orders[number] = order
            if fault == "hang":
                await self._release.wait()
            return self._answer(
                {
                    "orderId": order.order_id,
                    "orderNumber": number,
                    "orderStatus": order.status,
                    "productAmount": 0,
                }
            )

        @app.get(f"{API}/shopping/order/getOrderDetail")
        async def order_detail(request: Request) -> Response:
            if self._over_qps():
                return self._too_many()
            if not self._authorized(request):
                return self._answer(None, 1600001, "Invalid API key or access token")
            fault = self._fault(self.lookup_faults)
            if fault is not None:
                return fault
            order = self._find(request.query_params.get("orderId", ""))
            if order is None:
                return self._answer(
                    None, self.not_found_code, ERROR_MESSAGES.get(self.not_found_code, "")
                )
            return self._answer(self._detail(order))

        @app.get(f"{API}/shopping/order/list")
        async def order_list(request: Request) -> Response:
            if self._over_qps():
                return self._too_many()
            if not self._authorized(request):
                return self._answer(None, 1600001, "Invalid API key or access token")
            fault = self._fault(self.list_faults)
            if fault is not None:
                return fault
            query = request.query_params
            ids = query.getlist("orderIds")
            status = query.get("status")
            try:
                page, size = int(query.get("pageNum", "1")), int(query.get("pageSize", "20"))
            except ValueError:
                return self._answer(None, 1600300, "Param error")
            if len(ids) > 100 or page < 1 or size < 1 or (status and status not in LIST_STATES):
                return self._answer(None, 1600300, "Param error")
            found = [
                o
                for o in reversed(self.orders.values())
                if (not ids or o.order_id in ids or o.order_number in ids)
                and (not status or o.status == status)
            ]
            shown = found[(page - 1) * size : page * size]
            return self._answer(
                {
                    "pageNum": page,
                    "pageSize": size,
                    "total": len(found),
                    "list": [self._detail(o) for o in shown],
                }
            )

        @app.delete(f"{API}/shopping/order/deleteOrder")
        async def delete_order(request: Request) -> Response:
            if not self._authorized(request):
                return self._answer(None, 1600001, "Invalid API key or access token")
            order = self._find(request.query_params.get("orderId", ""))
            if order is None:
                return self._answer(None, 1603100, "Order not found")
            if order.status not in ("CREATED", "IN_CART", "UNPAID"):
                return self._answer(None, 1603002, "Order delete fail")
            order.status = "CANCELLED"
            return self._answer(order.order_id)

        return app
