import pytest

from logistics.domain.carriers import CarrierClass, CarrierSource, carrier_class, detect
from logistics.domain.status import ParcelStatus as S
from logistics.domain.status import moves_forward


@pytest.mark.parametrize(
    ("current", "reported", "moves"),
    [
        (S.PENDING, S.IN_TRANSIT, True),
        (S.IN_TRANSIT, S.IN_CUSTOMS, True),
        (S.IN_CUSTOMS, S.IN_TRANSIT, True),  # a newer scan: customs cleared, moving on
        (S.IN_TRANSIT, S.INFO_RECEIVED, False),  # label news after the parcel moved
        (S.DELIVERED, S.IN_TRANSIT, False),  # an old "in transit" after delivery
        (S.DELIVERED, S.OUT_FOR_DELIVERY, False),
        (S.EXCEPTION, S.IN_TRANSIT, True),  # trouble cleared: a real change
        (S.IN_TRANSIT, S.EXCEPTION, True),
        (S.DELIVERY_FAILED, S.OUT_FOR_DELIVERY, True),  # a second attempt
        (S.OUT_FOR_DELIVERY, S.DELIVERED, True),
        (S.IN_TRANSIT, S.IN_TRANSIT, False),  # a duplicate
        (S.DELIVERED, S.RETURNING, True),
        (S.RETURNING, S.IN_TRANSIT, False),
        (S.RETURNING, S.RETURNED_TO_SENDER, True),
        (S.RETURNED_TO_SENDER, S.DELIVERED, False),
        (S.LOST, S.DELIVERED, True),  # presumed lost, then it turned up
        (S.LOST, S.IN_TRANSIT, False),
        (S.IN_TRANSIT, S.EXPIRED, False),  # silence is not news on a moving parcel
        (S.PENDING, S.EXPIRED, True),
    ],
)
def test_a_parcel_never_moves_backwards_but_real_reversals_count(
    current: S, reported: S, moves: bool
) -> None:
    assert moves_forward(current, reported) is moves


@pytest.mark.parametrize(
    ("name", "number", "code", "source"),
    [
        ("China Post Registered Air Mail", "RR123456785CN", "chinapost", CarrierSource.GIVEN),
        ("Yanwen", "UJ123456785CN", "yanwen", CarrierSource.GIVEN),  # the name wins
        ("YunExpress", "YT2412345678901234", "yunexpress", CarrierSource.GIVEN),
        ("4PX", "4PX3000123456789CN", "4px", CarrierSource.GIVEN),
        ("顺丰速运", "SF1234567890123", "sfexpress", CarrierSource.GIVEN),
        (None, "1Z5R89390357567127", "ups", CarrierSource.NUMBER),
        ("", "9405511202575421535949", "usps", CarrierSource.NUMBER),
        ("Some Line", "LX123456785CN", "chinapost", CarrierSource.NUMBER),
        (None, "EA123456785CN", "chinaems", CarrierSource.NUMBER),
        (None, "RR123456780CN", None, CarrierSource.UNKNOWN),  # wrong check digit
        ("Foo Logistics", "YT2412345678901234", None, CarrierSource.UNKNOWN),
    ],
)
def test_carrier_from_the_name_then_the_number_then_left_to_the_aggregator(
    name: str | None, number: str, code: str | None, source: CarrierSource
) -> None:
    assert detect(name, number) == (code, source)


def test_classes_decide_the_follow_up_rules() -> None:
    assert carrier_class("ups") == CarrierClass.EXPRESS
    assert carrier_class("chinapost") == CarrierClass.POSTAL
    assert carrier_class(None) == CarrierClass.POSTAL  # unknown: the patient rules
