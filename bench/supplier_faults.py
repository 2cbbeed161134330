"""The suppliers of :mod:`bench.faults`: the fakes of CJdropshipping and of a supplier on
our http protocol, with faults injected into their order-creating call, and the
suppliers' own systems shipping every order they took.

:class:`CreateFaults` wraps a fake's ASGI app. While armed, each order-creating call
draws (from a seeded generator) one of:

* ``500``: HTTP 500, nothing created;
* ``429``: HTTP 429 with ``Retry-After`` (CJ: its 1600200 body), nothing created;
* ``lost_timeout``: the fake creates the order, the answer is held past the gateway's
  timeout (the caller gives up), then sent to nobody;
* ``lost_drop``: the fake creates the order, the status line goes out, then the
  connection is closed without the body.

Whatever the fake created (answered or not) is handed to a :class:`Shipper`: the
supplier ships it a moment later, as its own system would, whether or not we heard it
took the order. The http supplier calls ``POST /v1/supplier/orders/{id}/ship`` with its
key, every second until it gets a 200 (three minutes at most). CJ marks the order
shipped (its ``getOrderDetail`` then shows the tracking number) and pushes a signed
``LOGISTIC`` message as its documentation names it; an answer other than 200 is retried
three times, 5 s apart (CJ: 5 minutes; scaled to the run), then dropped, as CJ does
(https://developers.cjdropshipping.com/zh/api/start/webhook.html, "请求失败处理").

:func:`cj_documented_not_found` makes the CJ fake answer the lookup of an order it does
not have as CJ's ``getOrderDetail`` page documents it (code 1600300, "order not
found"; https://developers.cjdropshipping.com/en/api/api2/api/shopping.html), not only
with the global 1603100.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.system.harness import FakeCJSupplier, s10

ASGIApp = Callable[..., Awaitable[None]]
FAULTS = ("500", "429", "lost_timeout", "lost_drop")
CJ_CREATE = "/api2.0/v1/shopping/order/createOrderV2"
CJ_DETAIL = "/api2.0/v1/shopping/order/getOrderDetail"
CJ_NOT_FOUND_GLOBAL = 1603100
CJ_NOT_FOUND_DETAIL = 1600300  # getOrderDetail's own "order not found"
CJ_RETRIES = 3
CJ_RETRY_SECONDS = 5.0  # CJ: 5 minutes
HTTP_SHIP_FOR_SECONDS = 180.0


class DroppedConnection(Exception):
    """Raised after the status line: uvicorn closes the connection, no body sent."""


async def _collect(app: ASGIApp, scope: dict[str, Any], receive: Any) -> list[dict[str, Any]]:
    """Run ``app`` and keep its response messages instead of sending them."""
    sent: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, keep)
    return sent


def _status_and_body(sent: list[dict[str, Any]]) -> tuple[int, bytes]:
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), 0)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def _json_response(status: int, body: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    raw = json.dumps(body).encode()
    pairs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    pairs += [(k.encode(), v.encode()) for k, v in headers.items()]
    return [
        {"type": "http.response.start", "status": status, "headers": pairs},
        {"type": "http.response.body", "body": raw},
    ]


@dataclass
class CreateFaults:
    """Faults on one fake's order-creating call (``POST create_path``)."""

    app: ASGIApp
    supplier: str  # "cj" | "http"
    create_path: str
    orders: dict[str, Any]  # the fake's orders, by our supplier-order id
    order_key: Callable[[dict[str, Any]], str]  # our id in the request body
    on_created: Callable[[str], None]
    rng: random.Random
    mix: dict[str, float]  # fault -> probability of a call
    hold_seconds: float  # lost_timeout: held this long (past the caller's timeout)
    armed: bool = False
    injected: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    _holds: set[asyncio.Task[None]] = field(default_factory=set)

    def _draw(self) -> str | None:
        if not self.armed:
            return None
        x = self.rng.random()
        for fault in FAULTS:
            x -= self.mix.get(fault, 0.0)
            if x < 0:
                return fault
        return None

    def _rate_limited(self) -> list[dict[str, Any]]:
        retry_after = {"Retry-After": str(self.rng.choice((1, 2)))}
        if self.supplier == "cj":
            body = {
                "code": 1600200,
                "result": False,
                "message": "Too Many Requests, QPS limit is 1 time/1second",
                "data": None,
                "requestId": str(uuid.uuid4()),
            }
            return _json_response(429, body, retry_after)
        return _json_response(429, {"error": "slow down"}, retry_after)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == self.create_path
        ):
            await self.app(scope, receive, send)
            return
        fault = self._draw()
        if fault is not None:
            self.injected[fault] += 1
        if fault == "500":
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"internal error"})
            return
        if fault == "429":
            for message in self._rate_limited():
                await send(message)
            return
        body = b""
        more = True
        while more:  # read the request here, to know our id and to replay it
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            key = self.order_key(json.loads(body))
        except (ValueError, KeyError, TypeError):
            key = ""
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            result: dict[str, Any] = await receive()
            return result

        self.in_flight += 1
        try:
            sent = await _collect(self.app, scope, replay)
            if key and key in self.orders:
                self.on_created(key)
            if fault == "lost_timeout":
                await asyncio.sleep(self.hold_seconds)  # the caller has given up
            elif fault == "lost_drop":
                start = next(m for m in sent if m["type"] == "http.response.start")
                await send(start)
                raise DroppedConnection(f"{self.supplier}: reply to {key} dropped")
            for message in sent:
                await send(message)
        finally:
            self.in_flight -= 1


def cj_documented_not_found(app: ASGIApp) -> ASGIApp:
    """``getOrderDetail`` of an unknown order answered with the page's own 1600300."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != CJ_DETAIL:
            await app(scope, receive, send)
            return
        sent = await _collect(app, scope, receive)
        status, body = _status_and_body(sent)
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("code") == CJ_NOT_FOUND_GLOBAL:
            answer = {**answer, "code": CJ_NOT_FOUND_DETAIL, "message": "order not found"}
            sent = _json_response(status, answer, {})
        for message in sent:
            await send(message)

    return wrapped


@dataclass
class ShipRecord:
    supplier: str
    supplier_order_id: str
    tracking_number: str
    answers: list[tuple[float, str]] = field(default_factory=list)  # (when, "<status> <msg>")
    delivered: bool = False  # a 200 came back


class Shipper:
    """Ships each order a supplier created, ``delay`` seconds later (drawn per order)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        gateway: Callable[[], str],
        rng: random.Random,
        delay: tuple[float, float] = (0.5, 2.0),
    ) -> None:
        self.client = client
        self.gateway = gateway  # the gateway's base URL (it may move on restart)
        self.rng = rng
        self.delay = delay
        self.records: dict[str, ShipRecord] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._serial = int(time.time()) % 10**6 * 100
        self.http_key = ""
        self.cj: FakeCJSupplier | None = None
        self.cj_supplier_id = ""

    def _start(self, record: ShipRecord, ship: Callable[[ShipRecord], Awaitable[None]]) -> None:
        if record.supplier_order_id in self.records:
            return
        self.records[record.supplier_order_id] = record

        async def later() -> None:
            await asyncio.sleep(self.rng.uniform(*self.delay))
            await ship(record)

        task = asyncio.get_running_loop().create_task(later())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _number(self) -> str:
        self._serial += 1
        return s10(self._serial)

    def http_created(self, supplier_order_id: str) -> None:
        self._start(ShipRecord("http", supplier_order_id, self._number()), self._ship_http)

    def cj_created(self, supplier_order_id: str) -> None:
        self._start(ShipRecord("cj", supplier_order_id, self._number()), self._ship_cj)

    async def _post(self, record: ShipRecord, path: str, body: bytes, headers: Any) -> bool:
        try:
            r = await self.client.post(f"{self.gateway()}{path}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            record.answers.append((time.monotonic(), type(exc).__name__))
            return False
        message = ""
        try:
            message = str(r.json().get("message") or r.json().get("status") or "")
        except ValueError:
            message = r.text[:80]
        record.answers.append((time.monotonic(), f"{r.status_code} {message}".strip()))
        record.delivered = r.status_code == 200
        return record.delivered

    async def _ship_http(self, record: ShipRecord) -> None:
        path = f"/v1/supplier/orders/{record.supplier_order_id}/ship"
        body = json.dumps(
            {"carrier": "China Post", "tracking_numbers": [record.tracking_number]}
        ).encode()
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.http_key}"}
        deadline = time.monotonic() + HTTP_SHIP_FOR_SECONDS
        while not await self._post(record, path, body, headers):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(1.0)

    async def _ship_cj(self, record: ShipRecord) -> None:
        assert self.cj is not None
        order = self.cj.fake.ship(
            record.supplier_order_id, "CJPacket Ordinary", record.tracking_number
        )
        body, headers = self.cj.fake.callback("LOGISTIC", order)
        path = f"/v1/callbacks/cjdropshipping/{self.cj_supplier_id}"
        for attempt in range(1 + CJ_RETRIES):
            if attempt:
                await asyncio.sleep(CJ_RETRY_SECONDS)
            if await self._post(record, path, body, headers):
                return

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
