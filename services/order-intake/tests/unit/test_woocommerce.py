"""WooCommerce v3 order resource -> canonical order, on WooCommerce's published example."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from dropship_testkit.payloads import PAYLOADS
from order_intake.domain.order import CanonicalOrder, PaymentStatus, Platform, Wish
from order_intake.storefronts import InvalidPayload
from order_intake.storefronts.woocommerce import WooOrder, parse_order

FIXTURES = PAYLOADS
ORDER = FIXTURES / "woocommerce" / "order.json"


def _raw() -> bytes:
    assert ORDER.is_file(), f"fixture missing: {ORDER}"
    return ORDER.read_bytes()


def _body() -> dict[str, Any]:
    return dict(json.loads(_raw()))


def _parse(body: dict[str, Any]) -> CanonicalOrder:
    return parse_order(json.dumps(body).encode())


def test_fixture_as_is() -> None:
    order = parse_order(_raw())
    assert order.platform is Platform.WOOCOMMERCE
    assert order.external_id == "727"
    assert order.number == "727"
    assert order.currency == "USD"
    assert order.payment_status is PaymentStatus.PAID  # status "processing"
    assert order.cancelled is False
    assert order.total_price == Decimal("29.35")
    assert order.total_tax == Decimal("1.35")
    assert order.shipping_price == Decimal("10.00")
    assert order.shipping_method == "Flat Rate"
    assert order.subtotal_price == Decimal("18.00")


def test_fixture_lines() -> None:
    order = parse_order(_raw())
    assert len(order.lines) == 2
    first, second = order.lines
    assert first.sku is None  # "" in the payload
    assert first.external_product_id == "93"
    assert first.external_variant_id is None  # variation_id 0
    assert first.quantity == 2
    assert first.unit_price == Decimal("3")  # JSON number 3
    assert first.properties == ()
    assert second.sku == "Bar3"
    assert second.external_product_id == "22"
    assert second.external_variant_id == "23"
    assert second.unit_price == Decimal("12")
    assert second.title == "Ship Your Idea \u2013 Color: Black, Size: M Test"  # &ndash; decoded
    assert second.properties == (
        Wish(name="pa_color", value="black"),
        Wish(name="size", value="M Test"),
    )


def test_fixture_buyer_address_and_dates() -> None:
    order = parse_order(_raw())
    assert order.buyer.email == "john.doe@example.com"
    assert order.buyer.name == "John Doe"
    assert order.buyer.external_id is None  # customer_id 0 = guest
    addr = order.shipping_address
    assert addr is not None
    assert addr.name == "John Doe"
    assert addr.line1 == "969 Market"
    assert addr.line2 is None
    assert addr.city == "San Francisco"
    assert addr.province_code == "CA"
    assert addr.postal_code == "94103"
    assert addr.country_code == "US"
    assert addr.phone == "(555) 555-5555"  # shipping has no phone: billing's
    # *_gmt fields are UTC without a suffix
    assert order.placed_at == dt.datetime(2017, 3, 22, 19, 28, 2, tzinfo=dt.UTC)
    assert order.source_updated_at == dt.datetime(2017, 3, 22, 19, 28, 8, tzinfo=dt.UTC)
    # internal "_download_permissions_granted" meta is not a buyer wish
    assert order.note_attributes == ()
    assert order.note is None  # customer_note ""


@pytest.mark.parametrize(
    ("status", "date_paid", "payment", "cancelled"),
    [
        ("pending", None, PaymentStatus.PENDING, False),
        ("on-hold", None, PaymentStatus.PENDING, False),
        ("failed", None, PaymentStatus.FAILED, False),
        ("processing", "2017-03-22T16:28:08", PaymentStatus.PAID, False),
        ("completed", "2017-03-22T16:28:08", PaymentStatus.PAID, False),
        ("refunded", "2017-03-22T16:28:08", PaymentStatus.REFUNDED, False),
        ("cancelled", None, PaymentStatus.PENDING, True),
        ("cancelled", "2017-03-22T16:28:08", PaymentStatus.PAID, True),
        ("trash", None, PaymentStatus.PENDING, True),
        ("checkout-draft", None, PaymentStatus.PENDING, False),
        ("shipped-by-plugin", "2017-03-22T16:28:08", PaymentStatus.PAID, False),
        ("awaiting-by-plugin", None, PaymentStatus.PENDING, False),
    ],
)
def test_status_mapping(
    status: str, date_paid: str | None, payment: PaymentStatus, cancelled: bool
) -> None:
    body = {**_body(), "status": status, "date_paid": date_paid, "date_paid_gmt": date_paid}
    order = _parse(body)
    assert order.payment_status is payment
    assert order.cancelled is cancelled


def test_processing_with_refunds_is_partially_refunded() -> None:
    body = {**_body(), "refunds": [{"id": 726, "reason": "", "total": "-10.00"}]}
    assert _parse(body).payment_status is PaymentStatus.PARTIALLY_REFUNDED


def test_shipping_phone_wins_over_billing_phone() -> None:
    body = _body()
    body["shipping"] = {**body["shipping"], "phone": "+1 415 555 2671"}
    order = _parse(body)
    assert order.shipping_address is not None
    assert order.shipping_address.phone == "+1 415 555 2671"
    assert order.buyer.phone == "(555) 555-5555"


def test_empty_shipping_block_means_no_shipping_address() -> None:
    body = _body()
    body["shipping"] = {k: "" for k in body["shipping"]}
    order = _parse(body)
    assert order.shipping_address is None
    assert order.billing_address is not None


def test_customer_note_and_public_order_meta() -> None:
    body = _body()
    body["customer_note"] = "Please no invoice in the parcel"
    body["meta_data"] = [
        *body["meta_data"],
        {"id": 1, "key": "gift_message", "value": "Happy Birthday"},
        {"id": 2, "key": "_wc_internal", "value": "x"},
        {"id": 3, "key": "delivery_window", "value": {"from": "9", "to": "12"}},
    ]
    order = _parse(body)
    assert order.note == "Please no invoice in the parcel"
    assert order.note_attributes == (
        Wish(name="gift_message", value="Happy Birthday"),
        Wish(name="delivery_window", value='{"from":"9","to":"12"}'),
    )


def test_private_line_meta_is_skipped() -> None:
    body = _body()
    body["line_items"][1]["meta_data"].append({"id": 9, "key": "_reduced_stock", "value": "1"})
    order = _parse(body)
    assert [w.name for w in order.lines[1].properties] == ["pa_color", "size"]


def test_fractional_line_price_keeps_its_decimal_digits() -> None:
    body = _body()
    body["line_items"][0]["price"] = 2.675
    order = _parse(body)
    # not Decimal(2.675) == 2.67499999999999982236431605997495353221893310546875
    assert order.lines[0].unit_price == Decimal("2.675")


def test_local_dates_are_used_only_when_gmt_missing() -> None:
    body = _body()
    del body["date_created_gmt"]
    del body["date_modified_gmt"]
    order = _parse(body)
    assert order.placed_at == dt.datetime(2017, 3, 22, 16, 28, 2, tzinfo=dt.UTC)


def test_integer_number_from_plugins_is_accepted() -> None:
    assert _parse({**_body(), "number": 10727}).number == "10727"


def test_invalid_json() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_order(b"webhook_id=12")  # the creation ping is form-encoded
    assert info.value.kind == "invalid_json"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"id": "seven"}, ["id"]),
        ({"status": None}, ["status"]),
        ({"line_items": {"id": 1}}, ["line_items"]),
        ({"currency": "US"}, ["currency"]),
        ({"currency": "XYZ"}, ["currency"]),
        ({"total": "twenty"}, ["total"]),
    ],
)
def test_wrong_types(change: dict[str, Any], loc: list[Any]) -> None:
    with pytest.raises(InvalidPayload) as info:
        _parse({**_body(), **change})
    assert info.value.kind == "validation_error"
    assert loc in [d["loc"] for d in info.value.details]


def test_wrong_line_price_type() -> None:
    body = _body()
    body["line_items"][0]["price"] = "three"
    with pytest.raises(InvalidPayload) as info:
        _parse(body)
    assert ["line_items", 0, "price"] in [d["loc"] for d in info.value.details]


@pytest.mark.parametrize("missing", ["id", "status", "currency", "line_items"])
def test_missing_required(missing: str) -> None:
    body = _body()
    del body[missing]
    with pytest.raises(ValidationError):
        WooOrder.model_validate(body)


def test_missing_both_created_dates() -> None:
    body = _body()
    del body["date_created_gmt"]
    del body["date_created"]
    with pytest.raises(InvalidPayload) as info:
        _parse(body)
    assert "date_created" in info.value.details[0]["msg"]


def test_missing_both_modified_dates() -> None:
    body = _body()
    del body["date_modified_gmt"]
    del body["date_modified"]
    with pytest.raises(ValidationError):
        WooOrder.model_validate(body)
