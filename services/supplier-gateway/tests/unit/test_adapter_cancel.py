"""Cancelling at the supplier: a supplier's "too late" is False, but a failed call (a
5xx, a rate limit) is not an answer: it raises, so the placement worker tries again
instead of recording "too late" and never telling the supplier."""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid
from collections.abc import Callable

import httpx
import pytest

from supplier_gateway.adapters.base import AdapterContext, SupplierError, SupplierUnavailable
from supplier_gateway.adapters.cjdropshipping import CJAdapter
from supplier_gateway.adapters.http_supplier import HttpSupplierAdapter
from supplier_gateway.config import SupplierGatewaySettings

Handler = Callable[[httpx.Request], httpx.Response]


def _context(handler: Handler) -> AdapterContext:
    settings = SupplierGatewaySettings(mode="embedded", supplier_breaker_threshold=100)
    return AdapterContext(settings, uuid.uuid4(), httpx.MockTransport(handler))


def _http(handler: Handler) -> HttpSupplierAdapter:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    creds = {"url": "https://supplier.example/", "secret": secret}
    return HttpSupplierAdapter(creds, _context(handler))


def _cj(handler: Handler) -> CJAdapter:
    adapter = CJAdapter({"api_key": "k", "logistic_name": "CJPacket"}, _context(handler))
    adapter.tokens.access_token = "token"
    adapter.tokens.access_expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    return adapter


@pytest.mark.parametrize(("status", "cancelled"), [(200, True), (404, True), (409, False)])
async def test_http_supplier_answers(status: int, cancelled: bool) -> None:
    adapter = _http(lambda r: httpx.Response(status, json={}))
    try:
        assert await adapter.cancel(str(uuid.uuid4()), None) is cancelled
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_http_supplier_failure_is_tried_again(status: int) -> None:
    adapter = _http(lambda r: httpx.Response(status, headers={"retry-after": "7"}))
    try:
        with pytest.raises(SupplierUnavailable) as info:
            await adapter.cancel(str(uuid.uuid4()), None)
        assert info.value.retry_after == pytest.approx(7, abs=1)
    finally:
        await adapter.aclose()


def _cj_refusing_delete(order_status: str | None) -> CJAdapter:
    """CJ refuses deleteOrder; getOrderDetail shows the order in ``order_status`` (None:
    "order not found", and an empty order list)."""
    refused = {"code": 1603001, "result": False, "message": "order status not allowed"}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/deleteOrder"):
            return httpx.Response(200, json=refused)
        if path.endswith("/getOrderDetail") and order_status is None:
            return httpx.Response(200, json={"code": 1600300, "message": "order not found"})
        if path.endswith("/getOrderDetail"):
            data = {"orderId": "CJ-1", "orderStatus": order_status}
            return httpx.Response(200, json={"code": 200, "result": True, "data": data})
        if path.endswith("/list"):
            data = {"pageNum": 1, "pageSize": 20, "total": 0, "list": []}
            return httpx.Response(200, json={"code": 200, "result": True, "data": data})
        return httpx.Response(404)

    return _cj(handler)


@pytest.mark.parametrize(
    ("order_status", "cancelled"),
    [("UNSHIPPED", False), ("SHIPPED", False), ("CANCELLED", True), (None, True)],
)
async def test_cj_refusal_is_too_late_unless_an_earlier_delete_got_through(
    order_status: str | None, cancelled: bool
) -> None:
    """A refused delete is "too late" only if CJ still has the order, not cancelled: a
    delete whose answer was lost got through, and the retry's refusal says nothing else
    (found by review: it was reported as too late, so the buyer heard "already shipped")."""
    adapter = _cj_refusing_delete(order_status)
    try:
        assert await adapter.cancel(str(uuid.uuid4()), "CJ-1") is cancelled
    finally:
        await adapter.aclose()


async def test_cj_server_error_is_tried_again() -> None:
    adapter = _cj(lambda r: httpx.Response(502, text="bad gateway"))
    try:
        with pytest.raises(SupplierError):
            await adapter.cancel(str(uuid.uuid4()), "CJ-1")
    finally:
        await adapter.aclose()
