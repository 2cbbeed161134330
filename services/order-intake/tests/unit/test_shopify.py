"""Shopify order payload -> canonical order, on Shopify's own published fixtures."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from dropship_testkit.payloads import PAYLOADS
from order_intake.domain.order import PaymentStatus, Platform, Wish
from order_intake.storefronts import InvalidPayload
from order_intake.storefronts.shopify import ShopifyOrder, parse_order, to_canonical

FIXTURES = PAYLOADS


def _fixture_bytes(name: str) -> bytes:
    path = FIXTURES / "shopify" / name
    assert path.is_file(), f"fixture missing: {path}"
    return path.read_bytes()


def _webhook_body() -> bytes:
    """The webhook body is the inner order object of order.json, byte for byte in content."""
    inner = json.loads(_fixture_bytes("order.json"))["order"]
    return json.dumps(inner).encode()


def _inner() -> dict[str, Any]:
    return dict(json.loads(_fixture_bytes("order.json"))["order"])


def test_fixtures_dir_exists() -> None:
    assert FIXTURES.is_dir(), FIXTURES


def test_order_fixture_identity_and_money() -> None:
    order = parse_order(_webhook_body())
    assert order.platform is Platform.SHOPIFY
    assert order.external_id == "450789469"
    assert order.number == "#1001"
    assert order.currency == "USD"
    assert order.total_price == Decimal("409.94")
    assert order.subtotal_price == Decimal("398.00")
    assert order.total_tax == Decimal("11.94")
    assert isinstance(order.total_price, Decimal)
    assert order.test is False


def test_order_fixture_payment_and_cancellation() -> None:
    order = parse_order(_webhook_body())
    assert order.payment_status is PaymentStatus.AUTHORIZED
    assert order.cancelled is False
    assert order.cancel_reason is None


def test_order_fixture_lines() -> None:
    order = parse_order(_webhook_body())
    assert [line.sku for line in order.lines] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    first = order.lines[0]
    assert first.external_id == "466157049"
    assert first.external_product_id == "632910392"
    assert first.external_variant_id == "39072856"
    assert first.title == "IPod Nano - 8gb"
    assert first.variant_title == "green"
    assert first.quantity == 1
    assert first.unit_price == Decimal("199.00")
    assert str(first.unit_price) == "199.00"
    assert first.grams == 200
    assert first.requires_shipping is True
    assert first.properties == (Wish(name="Custom Engraving", value="Happy Birthday"),)
    assert order.lines[1].properties == ()


def test_order_fixture_wishes_and_note() -> None:
    order = parse_order(_webhook_body())
    pairs = [(w.name, w.value) for w in order.note_attributes]
    assert ("custom engraving", "Happy Birthday") in pairs
    assert ("colour", "green") in pairs
    assert order.note is None


def test_order_fixture_buyer_and_address() -> None:
    order = parse_order(_webhook_body())
    assert order.buyer.email == "bob.norman@hostmail.com"
    assert order.buyer.name == "Bob Norman"
    assert order.buyer.external_id == "207119551"
    assert order.buyer.phone == "555-625-1199"  # from shipping_address.phone
    addr = order.shipping_address
    assert addr is not None
    assert addr.name == "Bob Norman"
    assert addr.line1 == "Chestnut Street 92"
    assert addr.line2 is None  # "" in the payload
    assert addr.city == "Louisville"
    assert addr.postal_code == "40202"
    assert addr.country_code == "US"
    assert addr.province_code == "KY"
    assert order.billing_address is not None
    assert order.billing_address.city == "Louisville"


def test_order_fixture_shipping_and_dates_in_utc() -> None:
    order = parse_order(_webhook_body())
    assert order.shipping_method == "Free Shipping"
    assert order.shipping_price == Decimal("0.00")
    # "2008-01-10T11:00:00-05:00"
    assert order.placed_at == dt.datetime(2008, 1, 10, 16, 0, tzinfo=dt.UTC)
    assert order.placed_at.utcoffset() == dt.timedelta(0)
    assert order.source_updated_at == dt.datetime(2008, 1, 10, 16, 0, tzinfo=dt.UTC)


def test_rest_wrapped_order_is_accepted_as_is() -> None:
    wrapped = parse_order(_fixture_bytes("order.json"))
    assert wrapped == parse_order(_webhook_body())


def test_orders_list_fixture_lacks_line_items_and_is_rejected() -> None:
    # orders.json (partially refunded) is abridged by its authors: no line_items at all.
    only = json.loads(_fixture_bytes("orders.json"))["orders"][0]
    with pytest.raises(InvalidPayload) as info:
        parse_order(json.dumps(only).encode())
    assert info.value.kind == "validation_error"
    assert {"loc": ["line_items"], "msg": "Field required", "type": "missing"} in info.value.details


def test_orders_list_fixture_maps_partially_refunded_and_order_phone() -> None:
    only = json.loads(_fixture_bytes("orders.json"))["orders"][0]
    model = ShopifyOrder.model_validate({**only, "line_items": []})
    order = to_canonical(model)
    assert order.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert order.total_price == Decimal("598.94")
    assert order.buyer.phone == "555-625-1199"  # shipping address phone wins over order phone


@pytest.mark.parametrize(
    ("financial_status", "expected"),
    [
        ("pending", PaymentStatus.PENDING),
        ("authorized", PaymentStatus.AUTHORIZED),
        ("partially_paid", PaymentStatus.PARTIALLY_PAID),
        ("paid", PaymentStatus.PAID),
        ("partially_refunded", PaymentStatus.PARTIALLY_REFUNDED),
        ("refunded", PaymentStatus.REFUNDED),
        ("voided", PaymentStatus.VOIDED),
        ("expired", PaymentStatus.FAILED),
        ("something_new", PaymentStatus.PENDING),
        (None, PaymentStatus.PENDING),
    ],
)
def test_financial_status_mapping(financial_status: str | None, expected: PaymentStatus) -> None:
    body = {**_inner(), "financial_status": financial_status}
    assert parse_order(json.dumps(body).encode()).payment_status is expected


def test_cancelled_order() -> None:
    body = {**_inner(), "cancelled_at": "2008-01-11T09:00:00-05:00", "cancel_reason": "customer"}
    order = parse_order(json.dumps(body).encode())
    assert order.cancelled is True
    assert order.cancel_reason == "customer"


def test_private_line_properties_are_skipped_and_values_stringified() -> None:
    body = _inner()
    body["line_items"][0]["properties"] = [
        {"name": "_upsell_token", "value": "abc"},
        {"name": "Size", "value": 42},
        {"name": "Gift wrap", "value": None},
    ]
    order = parse_order(json.dumps(body).encode())
    assert order.lines[0].properties == (
        Wish(name="Size", value="42"),
        Wish(name="Gift wrap", value=""),
    )


def test_empty_sku_becomes_none() -> None:
    body = _inner()
    body["line_items"][1]["sku"] = ""
    order = parse_order(json.dumps(body).encode())
    assert order.lines[1].sku is None
    assert order.lines[1].external_product_id == "632910392"


def test_removed_lines_are_dropped_via_current_quantity() -> None:
    body = _inner()
    body["line_items"][2]["current_quantity"] = 0
    body["line_items"][0]["current_quantity"] = 1
    order = parse_order(json.dumps(body).encode())
    assert [line.sku for line in order.lines] == ["IPOD2008GREEN", "IPOD2008RED"]


def test_phone_falls_back_to_customer_then_order() -> None:
    body = _inner()
    body["shipping_address"]["phone"] = None
    body["customer"]["phone"] = "+16136120707"
    assert parse_order(json.dumps(body).encode()).buyer.phone == "+16136120707"
    body["customer"]["phone"] = None
    body["phone"] = "+557734881234"
    assert parse_order(json.dumps(body).encode()).buyer.phone == "+557734881234"


def test_buyer_name_falls_back_to_shipping_name() -> None:
    body = _inner()
    del body["customer"]
    order = parse_order(json.dumps(body).encode())
    assert order.buyer.name == "Bob Norman"
    assert order.buyer.external_id is None


def test_shipping_price_sums_all_shipping_lines() -> None:
    body = _inner()
    body["shipping_lines"] = [
        {"title": "DHL Express", "price": "12.10"},
        {"title": "Remote area surcharge", "price": "3.05"},
    ]
    order = parse_order(json.dumps(body).encode())
    assert order.shipping_method == "DHL Express"
    assert order.shipping_price == Decimal("15.15")


def test_invalid_json() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_order(b'{"id": 1,')
    assert info.value.kind == "invalid_json"
    assert info.value.details and info.value.details[0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"id": "not-a-number"}, ["id"]),
        ({"line_items": "IPOD2008GREEN"}, ["line_items"]),
        ({"currency": 840}, ["currency"]),
        ({"currency": "XYZ"}, ["currency"]),  # shaped like one, but no ISO 4217 code
        ({"created_at": "yesterday"}, ["created_at"]),
        ({"total_price": "a lot"}, ["total_price"]),
        ({"total_price": True}, ["total_price"]),
    ],
)
def test_wrong_types_are_validation_errors(change: dict[str, Any], loc: list[Any]) -> None:
    body = {**_inner(), **change}
    with pytest.raises(InvalidPayload) as info:
        parse_order(json.dumps(body).encode())
    assert info.value.kind == "validation_error"
    assert loc in [d["loc"] for d in info.value.details]
    assert all(set(d) == {"loc", "msg", "type"} for d in info.value.details)


@pytest.mark.parametrize("missing", ["id", "line_items", "currency", "created_at", "updated_at"])
def test_missing_required_field(missing: str) -> None:
    body = _inner()
    del body[missing]
    with pytest.raises(ValidationError):
        ShopifyOrder.model_validate(body)
    with pytest.raises(InvalidPayload) as info:
        parse_order(json.dumps(body).encode())
    assert [missing] in [d["loc"] for d in info.value.details]


def test_wrong_line_type_points_into_the_line() -> None:
    body = _inner()
    body["line_items"][1]["quantity"] = "two"
    with pytest.raises(InvalidPayload) as info:
        parse_order(json.dumps(body).encode())
    assert ["line_items", 1, "quantity"] in [d["loc"] for d in info.value.details]


def test_json_array_body_is_a_validation_error() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_order(b"[]")
    assert info.value.kind == "validation_error"


def test_extra_fields_are_kept_on_the_model() -> None:
    model = ShopifyOrder.model_validate(_inner())
    assert model.model_extra is not None
    assert model.model_extra["gateway"] == "authorize_net"


@pytest.mark.parametrize("code", ["ANG", "HRK", "cnh", "XCG"])
def test_currencies_storefronts_still_send_are_accepted(code: str) -> None:
    """Retired or unofficial codes shops still use (Curaçao before XCG, Croatia before
    the euro, the offshore yuan), and the new Caribbean guilder."""
    order = parse_order(json.dumps({**_inner(), "currency": code}).encode())
    assert order.currency == code.upper()
