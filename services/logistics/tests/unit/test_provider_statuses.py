"""The providers' statuses and carrier codes, mapped to ours, on samples shaped as the
vendors document them."""

from __future__ import annotations

import pytest

from logistics.domain.carriers import CARRIERS
from logistics.domain.provider_statuses import (
    AFTERSHIP_SLUGS,
    AFTERSHIP_SUBTAGS,
    AFTERSHIP_TAGS,
    SEVENTEEN_TRACK_CARRIERS,
    SEVENTEEN_TRACK_STATUSES,
    SEVENTEEN_TRACK_SUB_STATUSES,
    describe_17track,
    describe_aftership,
    from_17track_carrier,
    from_aftership_slug,
    map_17track,
    map_aftership,
    to_17track_carrier,
    to_aftership_slug,
)
from logistics.domain.status import ParcelStatus as S

# 17TRACK's 30 sub-statuses (help.17track.net "Understanding Tracking Status")
SEVENTEEN_TRACK_SAMPLES = [
    ("NotFound", "NotFound_Other", S.PENDING),
    ("NotFound", "NotFound_InvalidCode", S.PENDING),
    ("InfoReceived", "InfoReceived", S.INFO_RECEIVED),
    ("InTransit", "InTransit_PickedUp", S.IN_TRANSIT),
    ("InTransit", "InTransit_Other", S.IN_TRANSIT),
    ("InTransit", "InTransit_Departure", S.IN_TRANSIT),
    ("InTransit", "InTransit_Arrival", S.IN_TRANSIT),
    ("InTransit", "InTransit_CustomsProcessing", S.IN_CUSTOMS),
    ("InTransit", "InTransit_CustomsReleased", S.IN_CUSTOMS),
    ("InTransit", "InTransit_CustomsRequiringInformation", S.IN_CUSTOMS),
    ("Expired", "Expired_Other", S.EXPIRED),
    ("AvailableForPickup", "AvailableForPickup_Other", S.AVAILABLE_FOR_PICKUP),
    ("OutForDelivery", "OutForDelivery_Other", S.OUT_FOR_DELIVERY),
    ("DeliveryFailure", "DeliveryFailure_Other", S.DELIVERY_FAILED),
    ("DeliveryFailure", "DeliveryFailure_NoBody", S.DELIVERY_FAILED),
    ("DeliveryFailure", "DeliveryFailure_Security", S.DELIVERY_FAILED),
    ("DeliveryFailure", "DeliveryFailure_Rejected", S.DELIVERY_FAILED),
    ("DeliveryFailure", "DeliveryFailure_InvalidAddress", S.DELIVERY_FAILED),
    ("Delivered", "Delivered_Other", S.DELIVERED),
    ("Exception", "Exception_Other", S.EXCEPTION),
    ("Exception", "Exception_Returning", S.RETURNING),
    ("Exception", "Exception_Returned", S.RETURNED_TO_SENDER),
    ("Exception", "Exception_NoBody", S.EXCEPTION),
    ("Exception", "Exception_Security", S.EXCEPTION),
    ("Exception", "Exception_Damage", S.EXCEPTION),
    ("Exception", "Exception_Rejected", S.EXCEPTION),
    ("Exception", "Exception_Delayed", S.EXCEPTION),
    ("Exception", "Exception_Lost", S.LOST),
    ("Exception", "Exception_Destroyed", S.LOST),
    ("Exception", "Exception_Cancel", S.EXCEPTION),
]


@pytest.mark.parametrize(("status", "sub_status", "ours"), SEVENTEEN_TRACK_SAMPLES)
def test_17track_statuses(status: str, sub_status: str, ours: S) -> None:
    assert map_17track(status, sub_status) == ours


def test_17track_unknown_values_fall_back_and_never_raise() -> None:
    assert map_17track("InTransit", None) == S.IN_TRANSIT
    assert map_17track("InTransit", "InTransit_SomethingNew") == S.IN_TRANSIT
    assert map_17track("Exception", "Exception_Whatever") == S.EXCEPTION
    # a sub-status of another main status does not override the main status
    assert map_17track("InTransit", "Exception_Lost") == S.IN_TRANSIT
    assert map_17track("Teleported", "Teleported_Other") == S.PENDING
    assert map_17track("", None) == S.PENDING


def test_17track_descriptions() -> None:
    assert describe_17track("InTransit", "InTransit_PickedUp") == "InTransit/PickedUp"
    assert describe_17track("InfoReceived", "InfoReceived") == "InfoReceived"
    assert describe_17track("Delivered", None) == "Delivered"


def test_17track_tables_cover_every_main_status_once() -> None:
    assert set(SEVENTEEN_TRACK_STATUSES) == {s for s, _, _ in SEVENTEEN_TRACK_SAMPLES}
    assert set(SEVENTEEN_TRACK_SUB_STATUSES) <= {sub for _, sub, _ in SEVENTEEN_TRACK_SAMPLES}


# AfterShip tags and subtags (aftership.com/docs/tracking/2026-07/enum/...)
AFTERSHIP_SAMPLES = [
    ("Pending", "Pending_001", S.PENDING),
    ("InfoReceived", "InfoReceived_001", S.INFO_RECEIVED),
    ("InTransit", "InTransit_001", S.IN_TRANSIT),
    ("InTransit", "InTransit_002", S.IN_TRANSIT),  # Acceptance scan
    ("InTransit", "InTransit_004", S.IN_TRANSIT),  # Arrived at destination country
    ("InTransit", "InTransit_005", S.IN_CUSTOMS),  # Customs clearance completed
    ("InTransit", "InTransit_006", S.IN_CUSTOMS),  # Customs clearance started
    ("InTransit", "InTransit_007", S.IN_TRANSIT),  # Departure Scan
    ("OutForDelivery", "OutForDelivery_001", S.OUT_FOR_DELIVERY),
    ("AttemptFail", "AttemptFail_001", S.DELIVERY_FAILED),
    ("AvailableForPickup", "AvailableForPickup_001", S.AVAILABLE_FOR_PICKUP),
    ("Delivered", "Delivered_001", S.DELIVERED),
    ("Delivered", "Delivered_005", S.DELIVERED),  # Delivered to neighbor (2026-07)
    ("Exception", "Exception_004", S.IN_CUSTOMS),  # Delayed (Customs clearance)
    ("Exception", "Exception_007", S.EXCEPTION),  # Incorrect Address
    ("Exception", "Exception_010", S.RETURNING),
    ("Exception", "Exception_011", S.RETURNED_TO_SENDER),
    ("Exception", "Exception_012", S.EXCEPTION),  # Shipment damage
    ("Exception", "Exception_013", S.LOST),
    ("Exception", "Exception_018", S.EXCEPTION),  # Incorrect / missing documents
    ("Expired", "Expired_001", S.EXPIRED),
]


@pytest.mark.parametrize(("tag", "subtag", "ours"), AFTERSHIP_SAMPLES)
def test_aftership_statuses(tag: str, subtag: str, ours: S) -> None:
    assert map_aftership(tag, subtag) == ours


def test_aftership_unknown_values_fall_back_and_never_raise() -> None:
    assert map_aftership("InTransit", None) == S.IN_TRANSIT
    assert map_aftership("Exception", "Exception_099") == S.EXCEPTION
    assert map_aftership("Delivered", "Exception_013") == S.DELIVERED
    assert map_aftership("Lost in space", None) == S.PENDING
    assert describe_aftership("Exception", "Exception_011") == "Exception/Exception_011"
    assert describe_aftership("Pending", None) == "Pending"
    assert set(AFTERSHIP_SUBTAGS) <= {sub for _, sub, _ in AFTERSHIP_SAMPLES}
    assert set(AFTERSHIP_TAGS) == {tag for tag, _, _ in AFTERSHIP_SAMPLES}


def test_carrier_codes_are_ours_and_round_trip() -> None:
    assert set(SEVENTEEN_TRACK_CARRIERS) <= set(CARRIERS)
    assert set(AFTERSHIP_SLUGS) <= set(CARRIERS)
    for code in CARRIERS:
        key = to_17track_carrier(code)
        if key is not None:
            assert from_17track_carrier(key) == code
        slug = to_aftership_slug(code)
        if slug is not None:
            assert from_aftership_slug(slug) == code
    assert to_17track_carrier("chinapost") == 3011
    assert to_17track_carrier("usps") == 21051
    assert to_17track_carrier("dhlecommerce") is None  # several 17TRACK keys: detect
    assert from_17track_carrier(999999) is None
    assert to_aftership_slug("chinapost") == "china-post"
    assert to_aftership_slug("yunexpress") == "yunexpress"
    assert from_aftership_slug("colissimo") == "laposte"
    assert from_aftership_slug("unknown-courier") is None
