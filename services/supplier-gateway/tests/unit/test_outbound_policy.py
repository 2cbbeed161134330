"""A supplier's URL is one we may call; what a refusal shows operators is its reason."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dropship_common.http import HostNotAllowed
from supplier_gateway.adapters.calls import supplier_client
from supplier_gateway.adapters.http_supplier import refusal_reason
from supplier_gateway.config import SupplierGatewaySettings


async def test_a_supplier_client_does_not_connect_to_a_local_address() -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        for host in ("127.0.0.1", "2130706433", "127.1"):
            async with supplier_client(
                f"http://{host}:{port}/", SupplierGatewaySettings(), rate_per_second=None
            ) as client:
                with pytest.raises(HostNotAllowed):
                    await client.get("orders/1")
    finally:
        server.close()
        await server.wait_closed()
    assert connections == 0


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"error": {"code": "unknown_sku", "message": "SKU  X-1\nunknown"}}, "SKU X-1 unknown"),
        ({"message": "out of stock"}, "out of stock"),
        ({"reason": "x" * 500}, "x" * 200),
        ({"unrelated": "<html>internal admin page</html>"}, "(no reason given)"),
    ],
)
def test_a_refusal_shows_its_reason_not_the_body(body: object, shown: str) -> None:
    assert refusal_reason(httpx.Response(422, json=body)) == shown


def test_a_refusal_that_is_not_json_shows_nothing_of_it() -> None:
    reason = refusal_reason(httpx.Response(422, text="<html>metadata: secret</html>"))
    assert "secret" not in reason


def test_the_cj_base_url_setting_follows_the_policy() -> None:
    with pytest.raises(ValueError, match="DROPSHIP_CJ_BASE_URL"):
        SupplierGatewaySettings(cj_base_url="http://169.254.169.254/")
    with pytest.raises(ValueError, match="credentials"):
        SupplierGatewaySettings(cj_base_url="https://u:p@developers.cjdropshipping.com")
    SupplierGatewaySettings(cj_base_url="http://127.0.0.1:9000", outbound_allow="127.0.0.1")
