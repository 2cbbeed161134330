"""A lookup answers NOT_FOUND only when sure; any other answer raises: refused
(SupplierUnavailable, counts for nothing) or settling nothing (another error, counted by
the placement worker towards needs_attention)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from supplier_gateway.adapters.base import NOT_FOUND, SupplierError, SupplierUnavailable

from .test_adapter_cancel import _cj, _http

NUMBER = str(uuid.uuid4())


def _cj_answers(detail: dict[str, Any], listed: dict[str, Any] | None = None) -> Any:
    """getOrderDetail answers ``detail``, the order list ``listed``; calls are kept."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path.rsplit("/", 1)[1])
        if request.url.path.endswith("/getOrderDetail"):
            return httpx.Response(200, json=detail)
        assert request.url.path.endswith("/shopping/order/list")
        assert request.url.params.get_list("orderIds") == [NUMBER]
        return httpx.Response(200, json=listed)

    return handler, seen


def _envelope(code: int, data: Any = None) -> dict[str, Any]:
    return {"code": code, "result": code == 200, "message": "m", "data": data}


def _page(*orders: dict[str, Any]) -> dict[str, Any]:
    return _envelope(200, {"pageNum": 1, "pageSize": 20, "total": len(orders), "list": orders})


@pytest.mark.parametrize("code", [1600300, 1603100])
async def test_cj_not_found_both_ways_is_sure(code: int) -> None:
    handler, seen = _cj_answers(_envelope(code), _page())
    adapter = _cj(handler)
    try:
        assert await adapter.lookup(NUMBER) == NOT_FOUND
        assert seen == ["getOrderDetail", "list"]
    finally:
        await adapter.aclose()


async def test_cj_order_list_shows_an_order_the_detail_did_not() -> None:
    listed = _page({"orderId": "2108", "orderNum": NUMBER, "orderStatus": "UNPAID"})
    handler, _ = _cj_answers(_envelope(1600300), listed)
    adapter = _cj(handler)
    try:
        found = await adapter.lookup(NUMBER)
        assert found.found and found.supplier_ref == "2108" and found.status == "UNPAID"
    finally:
        await adapter.aclose()


@pytest.mark.parametrize(
    ("detail", "listed"),
    [
        (_envelope(1600100), None),  # another code: says nothing about the order
        (_envelope(1603001), None),
        (_envelope(1600300), _envelope(1600100)),  # not found, but the list fails
        (_envelope(1600300), _envelope(200, None)),  # ... or answers without a list
    ],
)
async def test_cj_answers_that_settle_nothing_raise(
    detail: dict[str, Any], listed: dict[str, Any] | None
) -> None:
    handler, _ = _cj_answers(detail, listed)
    adapter = _cj(handler)
    try:
        with pytest.raises(SupplierError):
            await adapter.lookup(NUMBER)
    finally:
        await adapter.aclose()


async def test_cj_rate_limit_on_the_list_is_a_refusal() -> None:
    handler, _ = _cj_answers(_envelope(1600300), _envelope(1600200))
    adapter = _cj(handler)
    try:
        with pytest.raises(SupplierUnavailable):
            await adapter.lookup(NUMBER)
    finally:
        await adapter.aclose()


@pytest.mark.parametrize(
    ("status", "raised"),
    [(500, SupplierError), (400, SupplierError), (429, SupplierUnavailable)],
)
async def test_http_supplier_lookup_answers(status: int, raised: type[Exception]) -> None:
    adapter = _http(lambda r: httpx.Response(status, headers={"retry-after": "1"}))
    try:
        with pytest.raises(raised) as info:
            await adapter.lookup(NUMBER)
        assert type(info.value) is raised  # a 5xx is not a "later" (SupplierUnavailable)
    finally:
        await adapter.aclose()


async def test_http_supplier_404_is_sure() -> None:
    adapter = _http(lambda r: httpx.Response(404, json={"error": "not found"}))
    try:
        assert await adapter.lookup(NUMBER) == NOT_FOUND
    finally:
        await adapter.aclose()
