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

from dropship_common.settings import Settings
from supplier_gateway.adapters.base import AdapterContext, SupplierError, SupplierUnavailable
from supplier_gateway.adapters.cjdropshipping import CJAdapter
from supplier_gateway.adapters.http_supplier import HttpSupplierAdapter

Handler = Callable[[httpx.Request], httpx.Response]


def _context(handler: Handler) -> AdapterContext:
    settings = Settings(mode="embedded", supplier_breaker_threshold=100)
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


async def test_cj_refusal_is_too_late() -> None:
    body = {"code": 1603001, "result": False, "message": "order status not allowed"}
    adapter = _cj(lambda r: httpx.Response(200, json=body))
    try:
        assert await adapter.cancel(str(uuid.uuid4()), "CJ-1") is False
    finally:
        await adapter.aclose()


async def test_cj_server_error_is_tried_again() -> None:
    adapter = _cj(lambda r: httpx.Response(502, text="bad gateway"))
    try:
        with pytest.raises(SupplierError):
            await adapter.cancel(str(uuid.uuid4()), "CJ-1")
    finally:
        await adapter.aclose()
