from decimal import Decimal

import pytest

from dropship_common.money import money


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("409.9400", "409.94"),
        ("400.0000", "400.00"),
        ("1.2345", "1.2345"),
        ("0.5000", "0.50"),
        ("12", "12.00"),
        ("3.1000", "3.10"),
    ],
)
def test_money_shows_cents_and_keeps_precision(stored: str, shown: str) -> None:
    assert str(money(Decimal(stored))) == shown
