"""``POST /v1/orders`` body (custom storefronts) -> canonical order."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from order_intake.domain.order import PaymentStatus, Platform, Wish
from order_intake.storefronts import InvalidPayload
from order_intake.storefronts.custom import CustomOrderIn, parse_order, to_canonical

NOW = dt.datetime(2025, 3, 3, 8, 30, tzinfo=dt.UTC)


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "web-1001",
        "currency": "EUR",
        "lines": [
            {"sku": "MUG-BLK", "quantity": 2, "unit_price": "9.90", "title": "Mug, black"},
            {
                "sku": "TEE-M",
                "quantity": 1,
                "unit_price": 14.5,
                "properties": [{"name": "size", "value": "M"}],
            },
        ],
        "shipping_address": {
            "name": "Erika Mustermann",
            "line1": "Heidestraße 17",
            "city": "Köln",
            "postal_code": "51147",
            "country_code": "de",
            "phone": "0221 1234567",
        },
        "buyer": {"email": "erika@example.de"},
        "shipping_price": "4.95",
    }
    body.update(changes)
    return body


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_minimal_order() -> None:
    order = parse_order(_raw(_body()), NOW)
    assert order.platform is Platform.CUSTOM
    assert order.external_id == "web-1001"
    assert order.number == "web-1001"
    assert order.currency == "EUR"
    assert order.payment_status is PaymentStatus.PAID  # the default
    assert [line.sku for line in order.lines] == ["MUG-BLK", "TEE-M"]
    assert order.lines[0].title == "Mug, black"
    assert order.lines[1].title == "TEE-M"  # defaults to the SKU
    assert order.lines[1].unit_price == Decimal("14.5")
    assert order.lines[1].properties == (Wish(name="size", value="M"),)
    assert order.shipping_address is not None
    assert order.shipping_address.country_code == "DE"
    assert order.buyer.email == "erika@example.de"
    assert order.buyer.name == "Erika Mustermann"  # from the address
    assert order.buyer.phone == "0221 1234567"


def test_totals_computed_when_not_given() -> None:
    order = parse_order(_raw(_body()), NOW)
    assert order.subtotal_price == Decimal("34.30")  # 2 * 9.90 + 14.5
    assert order.total_price == Decimal("39.25")  # + 4.95 shipping


def test_totals_include_tax_and_respect_given_total() -> None:
    order = parse_order(_raw(_body(total_tax="6.52")), NOW)
    assert order.total_price == Decimal("45.77")
    given = parse_order(_raw(_body(total_price="40.00")), NOW)
    assert given.total_price == Decimal("40.00")


def test_dates_default_to_now_and_are_utc() -> None:
    order = parse_order(_raw(_body()), NOW)
    assert order.placed_at == NOW
    assert order.source_updated_at == NOW
    explicit = parse_order(
        _raw(_body(placed_at="2025-03-01T10:00:00+08:00", updated_at="2025-03-02T10:00:00+08:00")),
        NOW,
    )
    assert explicit.placed_at == dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
    assert explicit.source_updated_at == dt.datetime(2025, 3, 2, 2, 0, tzinfo=dt.UTC)


def test_naive_now_is_refused() -> None:
    model = CustomOrderIn.model_validate(_body())
    with pytest.raises(ValueError, match="timezone-aware"):
        to_canonical(model, dt.datetime(2025, 3, 3, 8, 30))


def test_wishes_and_explicit_status() -> None:
    order = parse_order(
        _raw(
            _body(
                note="leave at the door",
                note_attributes=[{"name": "gift", "value": "yes"}],
                payment_status="pending",
                number="#A-77",
            )
        ),
        NOW,
    )
    assert order.note == "leave at the door"
    assert order.note_attributes == (Wish(name="gift", value="yes"),)
    assert order.payment_status is PaymentStatus.PENDING
    assert order.number == "#A-77"


def test_incomplete_address_is_accepted_for_holds_later() -> None:
    order = parse_order(_raw(_body(shipping_address={"country_code": "DE"})), NOW)
    assert order.shipping_address is not None
    assert order.shipping_address.line1 is None


def _line(**changes: Any) -> dict[str, Any]:
    return {"sku": "A", "quantity": 1, "unit_price": "1", **changes}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (_body(lines=[]), ["lines"]),
        (_body(currency="EURO"), ["currency"]),
        (_body(currency="E1R"), ["currency"]),
        (_body(currency="XYZ"), ["currency"]),  # the shape of a code, but no currency
        (_body(lines=[{"quantity": 1, "unit_price": "1"}]), ["lines", 0, "sku"]),
        (_body(lines=[_line(sku="")]), ["lines", 0, "sku"]),
        (_body(lines=[_line(quantity=0)]), ["lines", 0, "quantity"]),
        (_body(lines=[_line(quantity="2")]), ["lines", 0, "quantity"]),
        (_body(lines=[_line(quantity=1.5)]), ["lines", 0, "quantity"]),
        (_body(lines=[_line(unit_price="-1")]), ["lines", 0, "unit_price"]),
        (_body(lines=[_line(unit_price="NaN")]), ["lines", 0, "unit_price"]),
        (_body(lines=[_line(unit_price=True)]), ["lines", 0, "unit_price"]),
        (_body(lines=[_line(colour="red")]), ["lines", 0, "colour"]),
        (_body(surprise=True), ["surprise"]),
        (_body(buyer={"email": "not-an-email"}), ["buyer", "email"]),
        (_body(buyer={"mail": "a@b.c"}), ["buyer", "mail"]),
        (_body(placed_at="2025-03-01T10:00:00"), ["placed_at"]),  # naive: refused
        (_body(payment_status="maybe"), ["payment_status"]),
        (_body(shipping_address={"country_code": "DEU"}), ["shipping_address", "country_code"]),
    ],
)
def test_strict_validation(body: dict[str, Any], loc: list[Any]) -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_order(_raw(body), NOW)
    assert info.value.kind == "validation_error"
    assert loc in [d["loc"] for d in info.value.details]


@pytest.mark.parametrize(
    "missing", ["external_id", "currency", "lines", "shipping_address", "buyer"]
)
def test_required_fields(missing: str) -> None:
    body = _body()
    del body[missing]
    with pytest.raises(ValidationError):
        CustomOrderIn.model_validate(body)


def test_invalid_json() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_order(b"{'single': 'quotes'}", NOW)
    assert info.value.kind == "invalid_json"
