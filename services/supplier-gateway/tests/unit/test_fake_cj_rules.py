"""The fake CJ keeps to CJ's documented rules (createOrderV2's fields, the webhook
messages' shapes), so a misreading of the docs fails our own tests first."""

from __future__ import annotations

import json
from typing import Any

import httpx

from dropship_common.security import hmac_sha256_base64
from dropship_testkit.fakes.cj import FakeCJ, FakeOrder, create_order_problems
from supplier_gateway.adapters.cjdropshipping import country_name

VALID: dict[str, Any] = {
    "orderNumber": "so-1",
    "shippingCountryCode": "US",
    "shippingCountry": "United States",
    "shippingProvince": "KY",
    "shippingCity": "Louisville",
    "shippingCustomerName": "Bob Norman",
    "shippingAddress": "Chestnut Street 92",
    "logisticName": "CJPacket Ordinary",
    "fromCountryCode": "CN",
    "products": [{"vid": "V1", "quantity": 1}],
}


def test_create_order_rules_as_documented() -> None:
    assert create_order_problems(VALID) == []
    assert create_order_problems({**VALID, "shippingCountry": None}) == [
        "shippingCountry is required"
    ]
    assert create_order_problems({k: v for k, v in VALID.items() if k != "logisticName"}) == [
        "logisticName is required"
    ]
    assert create_order_problems({**VALID, "shippingCountryCode": "USA"}) == [
        "shippingCountryCode: please use the two-letter code"
    ]
    assert create_order_problems({**VALID, "shippingCustomerName": "x" * 51}) == [
        "shippingCustomerName must be text of at most 50 characters"
    ]
    assert create_order_problems({**VALID, "products": [{"quantity": 1}]}) == [
        "vid and sku cannot both be null"
    ]


async def test_create_order_refuses_a_body_missing_a_required_field() -> None:
    fake = FakeCJ()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app()), base_url="http://cj"
    ) as client:
        r = await client.post(
            "/api2.0/v1/authentication/getAccessToken", json={"apiKey": fake.api_key}
        )
        token = r.json()["data"]["accessToken"]
        headers = {"CJ-Access-Token": token}
        body = {k: v for k, v in VALID.items() if k != "shippingCountry"}
        r = await client.post("/api2.0/v1/shopping/order/createOrderV2", json=body, headers=headers)
        assert r.json()["code"] == 1600300 and "shippingCountry is required" in r.json()["message"]
        assert fake.orders == {}


def test_country_names_for_shipping_country() -> None:
    assert [country_name(c) for c in ("US", "DE", "KR", "TW", "XX", "")] == [
        "United States",
        "Germany",
        "South Korea",
        "Taiwan",
        "XX",
        "",
    ]


def test_logistic_message_as_documented() -> None:
    fake = FakeCJ()
    order = FakeOrder("1800000000000000007", "so-1", dict(VALID))
    fake.orders["so-1"] = order
    fake.ship("so-1", "CJPacket Ordinary", "RR123456785CN", "https://track.example/RR123456785CN")
    body, headers = fake.callback("LOGISTIC", order)
    message = json.loads(body)
    assert message["type"] == "LOGISTIC" and message["openId"] == fake.open_id
    params = message["params"]
    assert params["orderId"] == 1800000000000000007  # a JSON number in CJ's sample
    assert params["trackingNumber"] == "RR123456785CN"
    assert params["trackingUrl"] == "https://track.example/RR123456785CN"
    assert isinstance(params["trackingStatus"], int)
    assert isinstance(json.loads(params["logisticsTrackEvents"]), list)  # a JSON string
    assert headers["sign"] == hmac_sha256_base64(str(fake.open_id), body)


def test_order_message_as_documented() -> None:
    fake = FakeCJ()
    order = FakeOrder("1800000000000000007", "so-1", dict(VALID))
    fake.orders["so-1"] = order
    fake.ship("so-1", "YunExpress", "YT2212345678901234")
    message = json.loads(fake.callback("ORDER", order)[0])
    params = message["params"]
    assert message["type"] == "ORDER"
    assert params["orderNumber"] == "so-1" and "orderNum" not in params  # deprecated
    assert params["cjOrderId"] == 1800000000000000007
    assert params["trackNumber"] == "YT2212345678901234" and "trackingUrl" not in params
    assert params["orderItems"][0]["vid"] == "V1"
    assert len(params["updateDate"]) == len("2021-08-23 11:31:45")
