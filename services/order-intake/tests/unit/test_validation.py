"""Order confirmation checks: holds, warnings, normalised address."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from dropship_testkit.payloads import PAYLOADS
from order_intake.domain.order import (
    Address,
    Buyer,
    CanonicalOrder,
    OrderLine,
    PaymentStatus,
    Platform,
)
from order_intake.domain.validation import (
    check_address,
    check_order,
    normalize_phone,
    normalize_postal_code,
    resolve_country,
)
from order_intake.storefronts import shopify, woocommerce

FIXTURES = PAYLOADS

ADDRESS_CODES = {
    "missing_shipping_address",
    "missing_recipient_name",
    "missing_address_line",
    "missing_city",
    "invalid_country",
    "missing_postal_code",
    "invalid_postal_code",
}


def _shopify_fixture() -> CanonicalOrder:
    path = FIXTURES / "shopify" / "order.json"
    assert path.is_file(), path
    inner = json.loads(path.read_bytes())["order"]
    return shopify.parse_order(json.dumps(inner).encode())


def _woo_fixture() -> CanonicalOrder:
    path = FIXTURES / "woocommerce" / "order.json"
    assert path.is_file(), path
    return woocommerce.parse_order(path.read_bytes())


def _address(**changes: Any) -> Address:
    base: dict[str, Any] = {
        "name": "Li Lei",
        "line1": "Heidestraße 17",
        "city": "Köln",
        "postal_code": "51147",
        "country_code": "DE",
        "phone": "0221 1234567",
    }
    base.update(changes)
    return Address(**base)


def _order(
    address: Address | None = None,
    lines: tuple[OrderLine, ...] | None = None,
    buyer_phone: str | None = None,
) -> CanonicalOrder:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return CanonicalOrder(
        platform=Platform.CUSTOM,
        external_id="1",
        currency="EUR",
        total_price=Decimal("10"),
        payment_status=PaymentStatus.PAID,
        buyer=Buyer(phone=buyer_phone),
        shipping_address=address,
        lines=lines
        if lines is not None
        else (OrderLine(sku="SKU-1", title="Mug", quantity=1, unit_price=Decimal("10")),),
        placed_at=now,
        source_updated_at=now,
    )


def _codes(issues: list[Any]) -> list[str]:
    return [i.code for i in issues]


# --- the real fixtures ---------------------------------------------------------------------


def test_shopify_fixture_has_no_address_holds() -> None:
    result = check_order(_shopify_fixture(), {"IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"})
    assert result.holds == []
    # the fictional 555 number is a warning, never a hold
    assert _codes(result.warnings) == ["phone_doubtful"]
    assert result.warnings[0].details["reason"] == "invalid"
    assert result.address is not None
    assert result.address.postal_code == "40202"
    assert result.address.country_code == "US"
    assert result.address.phone == "+15556251199"


def test_shopify_fixture_sku_holds_follow_the_catalogue() -> None:
    result = check_order(_shopify_fixture(), {"IPOD2008GREEN"})
    assert _codes(result.holds) == ["unknown_sku", "unknown_sku"]
    assert [h.details["line"] for h in result.holds] == [1, 2]
    assert [h.details["sku"] for h in result.holds] == ["IPOD2008RED", "IPOD2008BLACK"]
    assert result.holds[0].field == "lines[1].sku"
    assert not ADDRESS_CODES & set(_codes(result.holds))


def test_woo_fixture_has_no_address_holds() -> None:
    result = check_order(_woo_fixture(), {"Bar3", "93:"})
    assert result.holds == []
    assert _codes(result.warnings) == ["phone_doubtful"]
    assert result.address is not None
    assert result.address.postal_code == "94103"


def test_woo_fixture_line_without_sku_is_missing_sku_unless_mapped() -> None:
    result = check_order(_woo_fixture(), {"Bar3"})
    assert _codes(result.holds) == ["missing_sku"]
    assert result.holds[0].details == {
        "line": 0,
        "sku": None,
        "product_key": "93:",
        "title": "Woo Single #1",
    }


def test_product_key_also_accepted_for_a_line_with_unknown_sku() -> None:
    result = check_order(_woo_fixture(), {"93:", "22:23"})
    assert result.holds == []


def test_known_skus_none_skips_catalogue_checks() -> None:
    assert check_order(_woo_fixture(), None).holds == []


# --- each hold code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "code", "field"),
    [
        (None, "missing_shipping_address", "shipping_address"),
        (_address(name="  "), "missing_recipient_name", "shipping_address.name"),
        (_address(line1=None), "missing_address_line", "shipping_address.line1"),
        (_address(city=""), "missing_city", "shipping_address.city"),
        (_address(country_code="ZZ"), "invalid_country", "shipping_address.country_code"),
        (_address(country_code=None), "invalid_country", "shipping_address.country_code"),
        (_address(postal_code=None), "missing_postal_code", "shipping_address.postal_code"),
        (_address(postal_code="5114"), "invalid_postal_code", "shipping_address.postal_code"),
    ],
)
def test_each_address_hold(address: Address | None, code: str, field: str) -> None:
    result = check_order(_order(address), {"SKU-1"})
    assert _codes(result.holds) == [code]
    assert result.holds[0].field == field


def test_no_lines_hold() -> None:
    result = check_order(_order(_address(), lines=()), {"SKU-1"})
    assert _codes(result.holds) == ["no_lines"]


def test_unknown_and_missing_sku_holds() -> None:
    lines = (
        OrderLine(sku="SKU-1", title="Mug", quantity=1, unit_price=Decimal("1")),
        OrderLine(sku="NOPE", title="Cap", quantity=1, unit_price=Decimal("1")),
        OrderLine(title="Tee", quantity=1, unit_price=Decimal("1"), external_product_id="7"),
    )
    result = check_order(_order(_address(), lines=lines), {"SKU-1"})
    assert _codes(result.holds) == ["unknown_sku", "missing_sku"]
    assert result.holds[0].details["line"] == 1
    assert result.holds[1].details["line"] == 2
    assert result.holds[1].details["product_key"] == "7:"


def test_lines_not_requiring_shipping_are_not_checked_and_need_no_address() -> None:
    tip = OrderLine(title="Tip", quantity=1, unit_price=Decimal("2"), requires_shipping=False)
    result = check_order(_order(None, lines=(tip,)), {"SKU-1"})
    assert result.holds == []


def test_line2_is_used_when_line1_is_empty() -> None:
    result = check_order(_order(_address(line1="", line2="Heidestraße 17")), {"SKU-1"})
    assert result.holds == []
    assert result.address is not None
    assert result.address.line1 == "Heidestraße 17"
    assert result.address.line2 is None


@pytest.mark.parametrize("country", ["SG", "HK"])
def test_city_states_need_no_city(country: str) -> None:
    addr = _address(
        country_code=country,
        city=None,
        postal_code="018956" if country == "SG" else None,
        phone=None,
    )
    assert check_address(addr).holds == []


def test_several_holds_at_once() -> None:
    addr = Address(country="Atlantis")
    result = check_order(_order(addr), {"SKU-1"})
    assert _codes(result.holds) == [
        "missing_recipient_name",
        "missing_address_line",
        "missing_city",
        "invalid_country",
    ]
    assert _codes(result.warnings) == ["phone_missing"]


# --- countries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("us", None, "US"),
        (None, "United States", "US"),
        (None, "Germany", "DE"),
        (None, "UK", "GB"),
        (None, "Russia", "RU"),
        (None, "South Korea", "KR"),
        (None, "中国", "CN"),
        ("DEU", None, "DE"),
        ("ZZ", "France", "FR"),
        (None, "Atlantis", None),
        (None, None, None),
    ],
)
def test_resolve_country(code: str | None, name: str | None, expected: str | None) -> None:
    assert resolve_country(code, name) == expected


def test_country_resolved_from_name_in_normalised_address() -> None:
    result = check_order(_order(_address(country_code=None, country="Germany")), {"SKU-1"})
    assert result.holds == []
    assert result.address is not None
    assert result.address.country_code == "DE"
    assert result.address.country == "Germany"


# --- postal codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "raw", "normalised"),
    [
        ("US", "40202", "40202"),
        ("US", "94103-1234", "94103-1234"),
        ("US", "941031234", "94103-1234"),
        ("CA", "k1a0b1", "K1A 0B1"),
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("GB", " EC1A  1BB ", "EC1A 1BB"),
        ("DE", "10115", "10115"),
        ("FR", "75008", "75008"),
        ("IT", "00184", "00184"),
        ("ES", "28013", "28013"),
        ("NL", "1012ab", "1012 AB"),
        ("AU", "2000", "2000"),
        ("JP", "1000001", "100-0001"),
        ("JP", "100-0001", "100-0001"),
        ("JP", "\uff11\uff10\uff10-\uff10\uff10\uff10\uff11", "100-0001"),  # full-width digits
        ("CN", "100000", "100000"),
        ("BR", "01310100", "01310-100"),
        ("IN", "110 001", "110001"),
        ("MX", "06600", "06600"),
        ("RU", "101000", "101000"),
        ("KR", "03187", "03187"),
        ("PL", "00950", "00-950"),
        ("SE", "11455", "114 55"),
        ("CH", "8001", "8001"),
        ("AT", "1010", "1010"),
        ("BE", "1000", "1000"),
        ("ZZ", "ab-12", "AB-12"),  # unknown country: any 2-12 alnum/space/dash
    ],
)
def test_postal_code_valid(country: str, raw: str, normalised: str) -> None:
    assert normalize_postal_code(country, raw) == (normalised, True)


@pytest.mark.parametrize(
    ("country", "raw"),
    [
        ("US", "4020"),
        ("US", "ABCDE"),
        ("CA", "D1A 0B1"),  # D is not a first letter in Canada
        ("GB", "12345"),
        ("DE", "1011"),
        ("FR", "7500"),
        ("IT", "001845"),
        ("ES", "53001"),  # provinces go up to 52
        ("NL", "0123 AB"),
        ("AU", "20000"),
        ("JP", "10000"),
        ("CN", "10000"),
        ("BR", "0131010"),
        ("IN", "010001"),
        ("MX", "0660"),
        ("RU", "10100"),
        ("KR", "031870"),
        ("PL", "0095"),
        ("SE", "1145"),
        ("CH", "0800"),
        ("AT", "10100"),
        ("BE", "0999"),
        ("ZZ", "X"),
        ("ZZ", "#12345"),
    ],
)
def test_postal_code_invalid(country: str, raw: str) -> None:
    assert normalize_postal_code(country, raw)[1] is False


@pytest.mark.parametrize("country", ["HK", "AE", "IE"])
def test_countries_without_postal_codes_do_not_require_one(country: str) -> None:
    result = check_address(_address(country_code=country, postal_code=None, phone=None))
    assert "missing_postal_code" not in _codes(result.holds)
    assert result.holds == []


def test_unknown_country_postal_code_is_required() -> None:
    result = check_address(_address(country_code="EG", postal_code=None))  # Egypt: not in table
    assert _codes(result.holds) == ["missing_postal_code"]


def test_invalid_postal_code_hold_details() -> None:
    result = check_address(_address(country_code="GB", postal_code="12345"))
    assert _codes(result.holds) == ["invalid_postal_code"]
    assert result.holds[0].details == {"country_code": "GB", "postal_code": "12345"}


# --- phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("13812341234", "CN", "+8613812341234"),
        ("138 1234 1234", "CN", "+8613812341234"),
        ("030 123456", "DE", "+4930123456"),
        ("0221 1234567", "DE", "+492211234567"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+16136120707", "US", "+16136120707"),  # a Canadian number shipped to the US
    ],
)
def test_phone_normalised_to_e164(raw: str, country: str, e164: str) -> None:
    assert normalize_phone(raw, country) == (e164, None)


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("555-625-1199", "US", "invalid"),  # the Shopify fixture's fictional number
        ("(555) 555-5555", "US", "invalid"),  # the WooCommerce fixture's
        ("12", "US", "not_possible"),
        ("call me", "US", "unparseable"),
    ],
)
def test_doubtful_phones(raw: str, country: str, reason: str) -> None:
    assert normalize_phone(raw, country)[1] == reason


def test_doubtful_phone_is_a_warning_not_a_hold() -> None:
    result = check_order(_order(_address(country_code="US", postal_code="40202", phone="12")), None)
    assert result.holds == []
    assert _codes(result.warnings) == ["phone_doubtful"]
    assert result.warnings[0].details["reason"] == "not_possible"
    assert result.address is not None
    assert result.address.phone == "12"  # kept as given when it cannot be normalised


def test_missing_phone_warning_and_buyer_phone_fallback() -> None:
    no_phone = check_order(_order(_address(phone=None)), {"SKU-1"})
    assert _codes(no_phone.warnings) == ["phone_missing"]
    with_buyer = check_order(_order(_address(phone=None), buyer_phone="030 123456"), {"SKU-1"})
    assert with_buyer.warnings == []
    assert with_buyer.address is not None
    assert with_buyer.address.phone == "+4930123456"


def test_short_address_line_warning() -> None:
    result = check_order(_order(_address(line1="17")), {"SKU-1"})
    assert result.holds == []
    assert _codes(result.warnings) == ["address_line_short"]
    assert result.warnings[0].details["line1"] == "17"


@pytest.mark.parametrize(
    ("country", "raw", "normalised"),
    [
        # countries our own table did not know, from Google's address data
        ("LT", "04340", "04340"),
        ("LV", "LV-1073", "LV-1073"),
        ("IS", "101", "101"),
        ("KZ", "040900", "040900"),
        ("EE", "69501", "69501"),
        ("SK", "010 01", "010 01"),
        ("PK", "44000", "44000"),
    ],
)
def test_postal_codes_of_more_countries_are_checked(
    country: str, raw: str, normalised: str
) -> None:
    assert normalize_postal_code(country, raw) == (normalised, True)
    assert normalize_postal_code(country, raw + "9X")[1] is False
