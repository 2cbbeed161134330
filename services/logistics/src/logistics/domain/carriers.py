"""Carrier detection: our carrier codes, from what the supplier typed or the number.

Order of evidence (issue 13 §2): the name the supplier gave, mapped through aliases;
when missing or unknown, the number itself (UPU S10 with its check digit, UPS ``1Z``,
USPS IMpb, FedEx, … via the ``tracking-numbers`` library); last, the aggregator's own
detection (``None`` here means: let the provider detect). Each code has a class
(``express`` or ``postal``) for the follow-up rules.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class CarrierClass(enum.StrEnum):
    EXPRESS = "express"
    POSTAL = "postal"


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    carrier_class: CarrierClass


_E, _P = CarrierClass.EXPRESS, CarrierClass.POSTAL
CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("chinapost", "China Post", _P),
        Carrier("chinaems", "China EMS", _E),
        Carrier("yanwen", "Yanwen", _P),
        Carrier("yunexpress", "YunExpress", _P),
        Carrier("4px", "4PX", _P),
        Carrier("cainiao", "Cainiao", _P),
        Carrier("sfexpress", "SF Express", _E),
        Carrier("ups", "UPS", _E),
        Carrier("usps", "USPS", _P),
        Carrier("fedex", "FedEx", _E),
        Carrier("dhl", "DHL Express", _E),
        Carrier("dhlecommerce", "DHL eCommerce", _P),
        Carrier("royalmail", "Royal Mail", _P),
        Carrier("laposte", "La Poste / Colissimo", _P),
        Carrier("deutschepost", "Deutsche Post", _P),
        Carrier("posteitaliane", "Poste Italiane", _P),
        Carrier("auspost", "Australia Post", _P),
        Carrier("canadapost", "Canada Post", _P),
        Carrier("postnl", "PostNL", _P),
        Carrier("correos", "Correos", _P),
        Carrier("japanpost", "Japan Post", _P),
    )
}


# What suppliers type, squeezed (lower case, no spaces or punctuation) -> our code.
_ALIASES: dict[str, str] = {
    "chinapost": "chinapost",
    "chinapostairmail": "chinapost",
    "chinapostregisteredairmail": "chinapost",
    "chinapostordinarysmallpacket": "chinapost",
    "chinapostsmallpacket": "chinapost",
    "chinapostepacket": "chinapost",
    "epacket": "chinapost",
    "中国邮政": "chinapost",
    "中国邮政小包": "chinapost",
    "ems": "chinaems",
    "chinaems": "chinaems",
    "yanwen": "yanwen",
    "燕文": "yanwen",
    "yunexpress": "yunexpress",
    "yun": "yunexpress",
    "yuntu": "yunexpress",
    "云途": "yunexpress",
    "4px": "4px",
    "4pxexpress": "4px",
    "递四方": "4px",
    "cainiao": "cainiao",
    "aliexpressstandardshipping": "cainiao",
    "cainiaosuperecono": "cainiao",
    "菜鸟": "cainiao",
    "sf": "sfexpress",
    "sfexpress": "sfexpress",
    "顺丰": "sfexpress",
    "顺丰速运": "sfexpress",
    "ups": "ups",
    "usps": "usps",
    "fedex": "fedex",
    "dhl": "dhl",
    "dhlexpress": "dhl",
    "dhlecommerce": "dhlecommerce",
    "royalmail": "royalmail",
    "laposte": "laposte",
    "colissimo": "laposte",
    "deutschepost": "deutschepost",
    "posteitaliane": "posteitaliane",
    "australiapost": "auspost",
    "auspost": "auspost",
    "canadapost": "canadapost",
    "postnl": "postnl",
    "correos": "correos",
    "japanpost": "japanpost",
}

_SQUEEZE = re.compile(r"[\s\-_.()/]+")

# The S10 country suffix of a number posted in China names China Post (EMS for E*).
_S10 = re.compile(r"^([A-Z]{2})\d{9}([A-Z]{2})$")
_S10_POSTS: dict[str, str] = {
    "CN": "chinapost",
    "GB": "royalmail",
    "FR": "laposte",
    "DE": "deutschepost",
    "IT": "posteitaliane",
    "AU": "auspost",
    "CA": "canadapost",
    "NL": "postnl",
    "ES": "correos",
    "JP": "japanpost",
    "US": "usps",
}
# tracking-numbers' courier codes -> ours
_LIBRARY_COURIERS: dict[str, str] = {
    "ups": "ups",
    "usps": "usps",
    "fedex": "fedex",
    "dhl": "dhl",
}


class CarrierSource(enum.StrEnum):
    GIVEN = "given"  # the name the supplier typed
    NUMBER = "number"  # recognised from the tracking number
    PROVIDER = "provider"  # the aggregator detected or corrected it
    OPERATOR = "operator"  # an operator corrected it
    UNKNOWN = "unknown"  # left to the aggregator's detection


def carrier_from_name(name: str | None) -> str | None:
    """Our code for a carrier name as a supplier typed it, or None if unknown."""
    if not name:
        return None
    key = _SQUEEZE.sub("", name.strip().lower())
    if key in CARRIERS:
        return key
    return _ALIASES.get(key)


def carrier_from_number(number: str) -> str | None:
    """Our code recognised from the number alone (S10 with a valid check digit; UPS
    ``1Z``, USPS IMpb, FedEx, DHL through ``tracking-numbers``), or None."""
    from tracking_numbers import get_tracking_number  # import cost only when used

    found = get_tracking_number(number)
    if found is None or not found.valid:
        return None
    if found.courier.code == "s10":
        s10 = _S10.match(number)
        if s10 is None:
            return None
        if s10.group(2) == "CN" and s10.group(1).startswith("E"):
            return "chinaems"
        return _S10_POSTS.get(s10.group(2))
    return _LIBRARY_COURIERS.get(found.courier.code)


def detect(name: str | None, number: str) -> tuple[str | None, CarrierSource]:
    """The carrier as the supplier named it, else as the number says, else unknown
    (the aggregator detects it)."""
    given = carrier_from_name(name)
    if given is not None:
        return given, CarrierSource.GIVEN
    recognised = carrier_from_number(number)
    if recognised is not None:
        return recognised, CarrierSource.NUMBER
    return None, CarrierSource.UNKNOWN


def carrier_class(code: str | None) -> CarrierClass:
    """Express or postal; an unknown carrier is followed as postal (the slower rules:
    a parcel is not called stalled or lost too soon)."""
    known = CARRIERS.get(code or "")
    return known.carrier_class if known else CarrierClass.POSTAL


def carrier_name(code: str | None) -> str | None:
    known = CARRIERS.get(code or "")
    return known.name if known else code
