"""Suppliers and SKU mappings on real PostgreSQL: API, CSV import, routing, CLI."""

from __future__ import annotations

import uuid

import pytest

from supplier_gateway.main import SPEC

pytestmark = pytest.mark.integration

SHOP = str(uuid.uuid4())


@pytest.fixture
async def gw(start_service):  # type: ignore[no-untyped-def]
    return await start_service(SPEC)


async def _supplier(gw, name: str, **extra) -> str:  # type: ignore[no-untyped-def]
    body = {"name": name, "adapter": "portal", "handling_days": 2, **extra}
    r = await gw.client.post("/v1/suppliers", headers=gw.admin_headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def test_supplier_lifecycle_and_secrets_never_returned(gw) -> None:  # type: ignore[no-untyped-def]
    sid = await _supplier(
        gw,
        "Shenzhen Gadgets",
        credentials={"api_key": "sk-live-123"},
        contact_email="ops@gadgets.cn",
    )
    r = await gw.client.get(f"/v1/suppliers/{sid}", headers=gw.admin_headers)
    out = r.json()
    assert out["has_credentials"] is True and "credentials" not in out
    assert "sk-live-123" not in r.text
    assert (out["handling_days"], out["holiday_country"], out["adapter"]) == (2, "CN", "portal")
    r = await gw.client.patch(
        f"/v1/suppliers/{sid}", headers=gw.admin_headers, json={"handling_days": 1, "active": False}
    )
    assert (r.json()["handling_days"], r.json()["active"]) == (1, False)
    r = await gw.client.post(
        "/v1/suppliers",
        headers=gw.admin_headers,
        json={"name": "Shenzhen Gadgets", "adapter": "http", "handling_days": 1},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "supplier_exists"


@pytest.mark.parametrize(
    "bad",
    [{"handling_days": 4}, {"adapter": "fax"}, {"ship_from_country": "China"}],
    ids=["handling-4-days", "unknown-adapter", "country-name"],
)
async def test_invalid_supplier_is_422(gw, bad) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "X", "adapter": "portal", "handling_days": 2, **bad}
    r = await gw.client.post("/v1/suppliers", headers=gw.admin_headers, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert (await gw.client.get("/v1/suppliers", headers=gw.admin_headers)).json() == []


async def test_mappings_route_with_backups_per_destination(gw) -> None:  # type: ignore[no-untyped-def]
    main = await _supplier(gw, "Main")
    backup = await _supplier(gw, "Backup")
    eu = await _supplier(gw, "EU Warehouse")
    common = {
        "sku": "MUG-1",
        "unit_cost": "2.10",
        "currency": "USD",
        "customs_description": "ceramic mug",
        "hs_code": "691200",
        "weight_grams": 350,
    }
    r = await gw.client.post(
        "/v1/mappings",
        headers=gw.admin_headers,
        json={
            "shop_id": SHOP,
            "mappings": [
                {**common, "supplier_id": main, "supplier_product_id": "P1", "priority": 1},
                {**common, "supplier_id": backup, "supplier_product_id": "B7", "priority": 2},
                {
                    **common,
                    "supplier_id": eu,
                    "supplier_product_id": "E1",
                    "priority": 1,
                    "destination_country": "DE",
                },
            ],
        },
    )
    assert r.status_code == 201, r.text

    async def route(country: str | None) -> list[str]:
        params = {"shop_id": SHOP, "sku": "MUG-1"}
        if country:
            params["destination_country"] = country
        r = await gw.client.get("/v1/mappings/route", headers=gw.admin_headers, params=params)
        return [s["name"] for s in r.json()["suppliers"]]

    assert await route("DE") == ["EU Warehouse", "Main", "Backup"]
    assert await route("US") == ["Main", "Backup"]
    await gw.client.patch(f"/v1/suppliers/{main}", headers=gw.admin_headers, json={"active": False})
    assert await route("US") == ["Backup"]
    # posting the same (sku, supplier, destination) again updates it
    r = await gw.client.post(
        "/v1/mappings",
        headers=gw.admin_headers,
        json={
            "shop_id": SHOP,
            "mappings": [
                {**common, "supplier_id": backup, "supplier_product_id": "B8", "priority": 2}
            ],
        },
    )
    r = await gw.client.get(
        "/v1/mappings", headers=gw.admin_headers, params={"shop_id": SHOP, "sku": "MUG-1"}
    )
    assert sorted(m["supplier_product_id"] for m in r.json()) == ["B8", "E1", "P1"]


async def test_mapping_to_unknown_supplier_is_refused(gw) -> None:  # type: ignore[no-untyped-def]
    r = await gw.client.post(
        "/v1/mappings",
        headers=gw.admin_headers,
        json={
            "shop_id": SHOP,
            "mappings": [
                {
                    "sku": "X",
                    "supplier_id": str(uuid.uuid4()),
                    "supplier_product_id": "P",
                    "unit_cost": "1",
                    "currency": "USD",
                    "customs_description": "thing",
                    "weight_grams": 10,
                }
            ],
        },
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["supplier_ids"]


HEADER = (
    "sku,supplier,supplier_product_id,unit_cost,currency,customs_description,hs_code,"
    "weight_grams,priority,destination_country\n"
)
CSV = (
    HEADER
    + """MUG-1,Main,P1,2.10,USD,ceramic mug,691200,350,1,
MUG-1,Backup,B7,2.40,USD,ceramic mug,691200,350,2,
TEE-M,Main,T-M,3.00,USD,cotton t-shirt,610910,180,1,
"""
)


async def test_csv_import_all_or_nothing(gw) -> None:  # type: ignore[no-untyped-def]
    await _supplier(gw, "Main")
    await _supplier(gw, "Backup")
    url = f"/v1/mappings/import?shop_id={SHOP}"
    headers = {**gw.admin_headers, "content-type": "text/csv"}
    bad = CSV + "CAP-1,Main,C1,-1,USD,cap,650500,90,1,\nCAP-2,Nobody,C2,1,USD,cap,650500,90,1,\n"
    r = await gw.client.post(url, headers=headers, content=bad.encode())
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {"row": 5, "field": "unit_cost", "error": "Input should be greater than or equal to 0"}
    ]
    r = await gw.client.post(
        url, headers=headers, content=(CSV + "CAP-2,Nobody,C2,1,USD,cap,650500,90,1,\n").encode()
    )
    assert r.status_code == 422 and r.json()["error"]["details"] == {"suppliers": ["Nobody"]}
    listed = await gw.client.get("/v1/mappings", headers=gw.admin_headers, params={"shop_id": SHOP})
    assert listed.json() == []  # nothing half-written
    r = await gw.client.post(url, headers=headers, content=CSV.encode())
    assert r.status_code == 200 and r.json() == {"created": 3, "updated": 0}
    r = await gw.client.post(url, headers=headers, content=CSV.encode())
    assert r.json() == {"created": 0, "updated": 3}
    r = await gw.client.post(url, headers=headers, content=b"sku,colour\nX,red\n")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8002/",
        "http://localhost/",
        "http://[::1]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://user:pw@127.0.0.1/",
        "https://user:pw@supplier.example/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://100.64.0.1/",
        "http://supplier.example/",  # distributed mode: https only
    ],
)
async def test_an_http_supplier_url_we_may_not_call_is_refused(start_service, url: str) -> None:  # type: ignore[no-untyped-def]
    gw = await start_service(SPEC, outbound_allow="")  # the tests' default allows loopback
    creds = {"url": url, "secret": "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="}
    body = {"name": "Internal", "adapter": "http", "handling_days": 2, "credentials": creds}
    r = await gw.client.post("/v1/suppliers", headers=gw.admin_headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "url_not_allowed"
    assert (await gw.client.get("/v1/suppliers", headers=gw.admin_headers)).json() == []
    sid = await _supplier(gw, "Later HTTP", adapter="http")
    r = await gw.client.patch(
        f"/v1/suppliers/{sid}", headers=gw.admin_headers, json={"credentials": creds}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "url_not_allowed"
    one = await gw.client.get(f"/v1/suppliers/{sid}", headers=gw.admin_headers)
    assert one.json()["has_credentials"] is False
