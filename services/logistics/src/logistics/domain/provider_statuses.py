"""Each tracking provider's statuses and carrier codes, mapped to ours. Pure tables.

17TRACK (Tracking API v2.2): 9 main statuses (``latest_status.status``) and 30
sub-statuses (``latest_status.sub_status``, ``events[].sub_status``), each sub-status
named ``<Main>_<Detail>`` (``InfoReceived`` alone), as listed in
https://help.17track.net/hc/en-us/articles/37471096573337-Understanding-Tracking-Status-Main-Status-Substatus
(the API docs themselves: https://api.17track.net/en/doc?version=v2.2).

AfterShip (Tracking API 2026-07): tags (delivery statuses) and subtags
(``<Tag>_<nnn>``), https://www.aftership.com/docs/tracking/2026-07/enum/delivery-statuses
and https://www.aftership.com/docs/tracking/2026-07/enum/delivery-sub-statuses.

Choices of ours, where the vendors' words do not say which of our statuses fits:

* every customs sub-status is ``in_customs``, "released" included (the parcel has
  reached the customs stage; a newer transit scan moves it on, see
  ``logistics.domain.status``), and so is AfterShip's
  ``Exception_004`` "Delayed (Customs clearance)" (still at customs, only slower);
* 17TRACK's ``Exception_Destroyed`` (destroyed, e.g. by customs) is ``lost``: the
  parcel will never reach the buyer, as with a loss;
* an unknown sub-status falls back to its main status; an unknown main status to
  ``pending`` (the lowest rank: it never overrides what we know).

Carrier codes: our codes (:data:`logistics.domain.carriers.CARRIERS`) to 17TRACK's
numeric carrier keys, from 17TRACK's carrier list
(https://res.17track.net/asset/carrier/info/apicarrier.all.json, linked from
https://api.17track.net/en/doc?version=v2.2 "Carrier code"), and to AfterShip slugs,
from https://www.aftership.com/docs/tracking/others/supported-couriers. A code with no
unambiguous counterpart is left out (``None``: let the provider detect).
"""

from __future__ import annotations

from logistics.domain.status import ParcelStatus

_S = ParcelStatus

# -- 17TRACK ---------------------------------------------------------------------------

SEVENTEEN_TRACK_STATUSES: dict[str, ParcelStatus] = {
    "NotFound": _S.PENDING,
    "InfoReceived": _S.INFO_RECEIVED,
    "InTransit": _S.IN_TRANSIT,
    "Expired": _S.EXPIRED,
    "AvailableForPickup": _S.AVAILABLE_FOR_PICKUP,
    "OutForDelivery": _S.OUT_FOR_DELIVERY,
    "DeliveryFailure": _S.DELIVERY_FAILED,
    "Delivered": _S.DELIVERED,
    "Exception": _S.EXCEPTION,
}

# only the sub-statuses that say more than their main status
SEVENTEEN_TRACK_SUB_STATUSES: dict[str, ParcelStatus] = {
    "InTransit_CustomsProcessing": _S.IN_CUSTOMS,
    "InTransit_CustomsReleased": _S.IN_CUSTOMS,
    "InTransit_CustomsRequiringInformation": _S.IN_CUSTOMS,
    "Exception_Returning": _S.RETURNING,
    "Exception_Returned": _S.RETURNED_TO_SENDER,
    "Exception_Lost": _S.LOST,
    "Exception_Destroyed": _S.LOST,
}


def seventeen_track_main(sub_status: str) -> str:
    """The main status a 17TRACK sub-status belongs to (its ``<Main>_`` prefix)."""
    return sub_status.split("_", 1)[0]


def map_17track(status: str, sub_status: str | None) -> ParcelStatus:
    """Our status for a 17TRACK main status and sub-status; never raises."""
    if sub_status and seventeen_track_main(sub_status) == status:
        mapped = SEVENTEEN_TRACK_SUB_STATUSES.get(sub_status)
        if mapped is not None:
            return mapped
    return SEVENTEEN_TRACK_STATUSES.get(status, _S.PENDING)


def describe_17track(status: str, sub_status: str | None) -> str:
    """``InTransit/PickedUp``: the provider's own words, for ``provider_status``."""
    if not sub_status or sub_status == status:
        return status
    prefix = f"{status}_"
    return f"{status}/{sub_status.removeprefix(prefix)}"


# -- AfterShip -------------------------------------------------------------------------

AFTERSHIP_TAGS: dict[str, ParcelStatus] = {
    "Pending": _S.PENDING,
    "InfoReceived": _S.INFO_RECEIVED,
    "InTransit": _S.IN_TRANSIT,
    "OutForDelivery": _S.OUT_FOR_DELIVERY,
    "AttemptFail": _S.DELIVERY_FAILED,
    "AvailableForPickup": _S.AVAILABLE_FOR_PICKUP,
    "Delivered": _S.DELIVERED,
    "Exception": _S.EXCEPTION,
    "Expired": _S.EXPIRED,
}

AFTERSHIP_SUBTAGS: dict[str, ParcelStatus] = {
    "InTransit_005": _S.IN_CUSTOMS,  # Customs clearance completed
    "InTransit_006": _S.IN_CUSTOMS,  # Customs clearance started
    "Exception_004": _S.IN_CUSTOMS,  # Delayed (Customs clearance)
    "Exception_010": _S.RETURNING,  # Returning to sender
    "Exception_011": _S.RETURNED_TO_SENDER,  # Returned to sender
    "Exception_013": _S.LOST,  # Shipment lost
}


def map_aftership(tag: str, subtag: str | None) -> ParcelStatus:
    """Our status for an AfterShip tag and subtag; never raises."""
    if subtag and subtag.split("_", 1)[0] == tag:
        mapped = AFTERSHIP_SUBTAGS.get(subtag)
        if mapped is not None:
            return mapped
    return AFTERSHIP_TAGS.get(tag, _S.PENDING)


def describe_aftership(tag: str, subtag: str | None) -> str:
    """``Exception/Exception_011``: the provider's own words, for ``provider_status``."""
    return f"{tag}/{subtag}" if subtag else tag


# -- carrier codes ---------------------------------------------------------------------

SEVENTEEN_TRACK_CARRIERS: dict[str, int] = {
    "chinapost": 3011,  # China Post
    "chinaems": 3013,  # China EMS
    "yanwen": 190012,  # YANWEN
    "yunexpress": 190008,  # YunExpress
    "4px": 190094,  # 4PX
    "cainiao": 190271,  # Cainiao
    "sfexpress": 100012,  # SF Express
    "ups": 100002,  # UPS
    "usps": 21051,  # USPS
    "fedex": 100003,  # FedEx
    "dhl": 100001,  # DHL Express
    # dhlecommerce: 17TRACK lists several (7047 US, 7048 Asia, 100765 CN): detect
    "royalmail": 11031,  # Royal Mail
    "laposte": 6051,  # La Poste (Colissimo)
    "deutschepost": 7044,  # Deutsche Post Mail
    "posteitaliane": 9071,  # Poste Italiane
    "auspost": 1151,  # Australia Post
    "canadapost": 3041,  # Canada Post
    "postnl": 14041,  # PostNL
    "correos": 19181,  # Correos Spain
    "japanpost": 10021,  # Japan Post
}
_FROM_17TRACK: dict[int, str] = {key: code for code, key in SEVENTEEN_TRACK_CARRIERS.items()}

AFTERSHIP_SLUGS: dict[str, str] = {
    "chinapost": "china-post",
    "chinaems": "china-ems",
    "yanwen": "yanwen",
    "yunexpress": "yunexpress",
    "4px": "4px",
    "cainiao": "cainiao",
    "sfexpress": "sf-express",
    "ups": "ups",
    "usps": "usps",
    "fedex": "fedex",
    "dhl": "dhl",  # DHL Express
    "dhlecommerce": "dhl-global-mail",  # "DHL eCommerce"
    "royalmail": "royal-mail",
    "laposte": "la-poste-colissimo",
    "deutschepost": "deutsch-post",  # "Deutsche Post Mail"
    "posteitaliane": "poste-italiane",
    "auspost": "australia-post",
    "canadapost": "canada-post",
    "postnl": "postnl",
    "correos": "spain-correos-es",
    "japanpost": "japan-post",
}
_FROM_AFTERSHIP: dict[str, str] = {
    **{slug: code for code, slug in AFTERSHIP_SLUGS.items()},
    "colissimo": "laposte",
    "postnl-international": "postnl",
}


def to_17track_carrier(code: str) -> int | None:
    return SEVENTEEN_TRACK_CARRIERS.get(code)


def from_17track_carrier(key: int) -> str | None:
    return _FROM_17TRACK.get(key)


def to_aftership_slug(code: str) -> str | None:
    return AFTERSHIP_SLUGS.get(code)


def from_aftership_slug(slug: str) -> str | None:
    return _FROM_AFTERSHIP.get(slug)
