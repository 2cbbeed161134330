"""Carrier knowledge: tracking numbers (UPU S10 check digit), tracking pages by carrier,
and which pages a buyer may be sent to."""

from __future__ import annotations

import pytest

from dropship_common.carriers import (
    normalize_tracking,
    s10_check_digit,
    tracking_url,
    valid_tracking_url,
)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("RR123456785CN", "RR123456785CN"),  # DOMAIN.md's example, valid check digit
        ("rr 1234 5678 5cn", "RR123456785CN"),
        ("RR123456784CN", None),  # wrong check digit
        ("SF1234567890123", "SF1234567890123"),
        ("YT-2345-6789-0123", "YT234567890123"),
        ("12345", None),
        ("ABC!1234567", None),
    ],
)
def test_tracking_numbers_are_normalised_or_refused(number: str, expected: str | None) -> None:
    assert normalize_tracking(number) == expected


def test_s10_check_digit_special_cases() -> None:
    assert s10_check_digit("12345678") == 5
    assert s10_check_digit("00000000") == 5  # remainder 0 -> 11 -> 5


@pytest.mark.parametrize(
    ("carrier", "url"),
    [
        ("China Post", "https://track.chinapost.com.cn/#/result?mailNo=RR123456785CN"),
        ("中国邮政", "https://track.chinapost.com.cn/#/result?mailNo=RR123456785CN"),
        (
            "DHL Express",
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id=RR123456785CN",
        ),
        (
            "SF-Express",
            "https://www.sf-express.com/we/ow/chn/en/waybill/waybill-detail/RR123456785CN",
        ),
        ("Some Local Post", "https://t.17track.net/en#nums=RR123456785CN"),
    ],
)
def test_tracking_url_by_carrier(carrier: str, url: str) -> None:
    assert tracking_url(carrier, "RR123456785CN") == url


def test_tracking_url_escapes_the_number() -> None:
    assert tracking_url("ups", "1Z 99/&x") == "https://www.ups.com/track?tracknum=1Z%2099%2F%26x"


def test_only_https_pages_are_valid_tracking_urls() -> None:
    valid = [
        "https://cjpacket.com/track?n=RR123456785CN",
        "https://t.17track.net/en#nums=RR123456785CN",
    ]
    invalid = [
        "http://cjpacket.com/track",
        "javascript:alert(1)",
        "https://",
        "https://a b.example/x",
        "https://x.example/" + "a" * 500,
        None,
        42,
    ]
    assert [valid_tracking_url(u) for u in valid] == [True, True]
    assert [valid_tracking_url(u) for u in invalid] == [False] * len(invalid)
