"""What tests/system/test_openapi_fuzz.py found (issue 11 §8), each pinned down here:
answers that were 500, and statuses the OpenAPI did not declare."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from aftersales.main import SPEC as AFTERSALES
from dropship_common.paging import MAX_OFFSET
from dropship_common.runtime import create_service_app
from dropship_common.settings import Settings
from dropship_testkit.storefront import create_shop
from logistics.main import SPEC as LOGISTICS
from order_intake.main import SPEC as ORDER_INTAKE
from supplier_gateway.main import SPEC as SUPPLIER_GATEWAY

pytestmark = pytest.mark.integration

SPECS = (ORDER_INTAKE, SUPPLIER_GATEWAY, LOGISTICS, AFTERSALES)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_operation_declares_the_errors_any_route_may_answer(spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app: FastAPI = create_service_app(spec, Settings(service=spec.name, data_dir=tmp_path))
    schema = app.openapi()
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    assert "ErrorOut" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            declared = set(op["responses"])
            expected = {"401", "403", "413", "422", "503"}
            if "requestBody" in op:
                expected.add("400")
            if any(p["in"] == "path" for p in op.get("parameters", ())):
                expected.add("404")
            if method != "get":
                expected.add("409")
            assert expected <= declared, (method, path, expected - declared)
            assert op["responses"]["503"]["content"]["application/json"]["schema"] == error_ref


async def test_dead_letters_without_a_broker_connection_are_503(start_service) -> None:  # type: ignore[no-untyped-def]
    # an API process (role=api) connects to the broker only when asked for dead letters;
    # a broker it cannot reach answered 500 (nothing listens on port 1)
    svc = await start_service(LOGISTICS, role="api")
    svc.runtime.bus.url = "amqp://guest:guest@127.0.0.1:1/"  # type: ignore[attr-defined]
    for method, path in (("GET", "/v1/dead-letters"), ("POST", "/v1/dead-letters/replay")):
        r = await svc.client.request(method, path, headers=svc.admin_headers)
        assert r.status_code == 503, (path, r.text)
        assert r.json()["error"]["code"] == "unavailable"


async def test_products_offset_past_a_bigint_is_422(start_service) -> None:  # type: ignore[no-untyped-def]
    svc = await start_service(ORDER_INTAKE, role="api")
    shop_id = await create_shop(svc.client, svc.admin_headers, skus=())
    params = {"shop_id": shop_id, "offset": str(2**63)}
    r = await svc.client.get("/v1/products", headers=svc.admin_headers, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    params["offset"] = str(MAX_OFFSET)  # the largest the API takes: nothing there
    r = await svc.client.get("/v1/products", headers=svc.admin_headers, params=params)
    assert r.status_code == 200 and r.json() == []
    params["offset"] = str(MAX_OFFSET + 1)
    r = await svc.client.get("/v1/products", headers=svc.admin_headers, params=params)
    assert r.status_code == 422


async def test_portal_key_for_a_supplier_with_a_long_name(start_service) -> None:  # type: ignore[no-untyped-def]
    # the key's label "portal: <name>" overflowed its varchar(200): 500
    svc = await start_service(SUPPLIER_GATEWAY, role="api")
    body = {"name": "S" * 255, "adapter": "portal", "handling_days": 2}
    r = await svc.client.post("/v1/suppliers", headers=svc.admin_headers, json=body)
    assert r.status_code == 201, r.text
    r = await svc.client.post(
        f"/v1/suppliers/{r.json()['id']}/portal-key", headers=svc.admin_headers
    )
    assert r.status_code == 201, r.text
