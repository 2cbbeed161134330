"""Money is ``Decimal``, never float. Stored with 4 decimals; shown with what it needs."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """``Decimal("409.9400")`` -> ``409.94``; ``Decimal("1.2345")`` stays; never below cents."""
    cents = value.quantize(CENT)
    return cents if cents == value else value.normalize()
