"""What we know about parcel carriers, in one place. Pure (no I/O).

* Tracking numbers: :func:`normalize_tracking` checks and normalises the numbers a
  supplier reports (supplier-gateway); UPU S10 numbers (``RR123456785CN``) must carry
  the right check digit (:func:`s10_check_digit`).
* Tracking pages: :func:`tracking_url` is the page where a buyer follows a parcel,
  by carrier name (order-intake writes it to the storefront and the buyer's mail);
  :func:`valid_tracking_url` says whether a page a supplier gave may be sent to a buyer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

__all__ = [
    "MAX_TRACKING_URL",
    "normalize_tracking",
    "s10_check_digit",
    "tracking_url",
    "valid_tracking_url",
]

# -- tracking numbers ------------------------------------------------------------------

_S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_GENERIC = re.compile(r"^[A-Z0-9]{8,40}$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the 8-digit serial."""
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def normalize_tracking(number: str) -> str | None:
    """Upper-cased, spaces removed; None if malformed. UPU S10 numbers (``RR123456785CN``)
    must have the right check digit; others are 8-40 letters and digits."""
    value = re.sub(r"[\s-]", "", number).upper()
    s10 = _S10.match(value)
    if s10:
        return value if s10_check_digit(s10.group(2)) == int(s10.group(3)) else None
    return value if _GENERIC.match(value) else None


# -- tracking pages --------------------------------------------------------------------

# The carrier's own tracking page where it has a stable one; ``{n}`` is the number.
_CARRIER_PAGES: Mapping[str, str] = {
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={n}",
    "ups": "https://www.ups.com/track?tracknum={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "sfexpress": "https://www.sf-express.com/we/ow/chn/en/waybill/waybill-detail/{n}",
    "chinapost": "https://track.chinapost.com.cn/#/result?mailNo={n}",
    "ems": "https://www.ems.com.cn/qps/yjcx?mailNum={n}",
    "yunexpress": "https://www.yuntrack.com/parcelTracking?id={n}",
    "4px": "https://track.4px.com/#/result/0/{n}",
    "cainiao": "https://global.cainiao.com/newDetail.htm?mailNoList={n}",
}
# Other names suppliers give the same carriers.
_ALIASES: Mapping[str, str] = {
    "sf": "sfexpress",
    "顺丰": "sfexpress",
    "顺丰速运": "sfexpress",
    "中国邮政": "chinapost",
    "chinapostairmail": "chinapost",
    "chinapostregisteredairmail": "chinapost",
    "chinaems": "ems",
    "dhlexpress": "dhl",
    "yun": "yunexpress",
    "云途": "yunexpress",
    "菜鸟": "cainiao",
}
# Everything else: 17TRACK, which detects the carrier from the number (most merchants'
# aggregator, DOMAIN "People and systems").
_FALLBACK = "https://t.17track.net/en#nums={n}"

MAX_TRACKING_URL = 500
_NO_SPACE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


def _carrier_key(carrier: str) -> str:
    key = re.sub(r"[\s\-_.]+", "", carrier.strip().lower())
    return _ALIASES.get(key, key)


def tracking_url(carrier: str, number: str) -> str:
    """The page where the buyer follows this parcel."""
    page = _CARRIER_PAGES.get(_carrier_key(carrier), _FALLBACK)
    return page.format(n=quote(number, safe=""))


def valid_tracking_url(url: object) -> bool:
    """A tracking page a buyer may be sent to: an absolute https URL with a host, no
    spaces or control characters, at most 500 characters."""
    if not isinstance(url, str) or len(url) > MAX_TRACKING_URL or not _NO_SPACE.match(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)
