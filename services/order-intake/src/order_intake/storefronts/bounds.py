"""What a storefront may send, bounded by what the database holds.

A value the columns cannot hold (a 500,000-character title, a quantity of 2**62, an id
past 64 bits, a total past ``Numeric(18, 4)``) is refused at the door, before anything
is stored: accepted, it would fail in the processor on every attempt, or worse, be
confirmed. The column bounds are read from :mod:`order_intake.models` so that the two
cannot drift; the payload models use the types below, and :func:`check_fits` checks a
:class:`CanonicalOrder` (with the sums and names derived from the payload) against the
columns it is written to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field

from order_intake.domain.order import CanonicalOrder, Wish
from order_intake.models import Money as MoneyColumn
from order_intake.models import Order, OrderLine
from order_intake.storefronts import InvalidPayload, Money

__all__ = [
    "BIGINT_MAX",
    "INT32_MAX",
    "MAX_GRAMS",
    "MAX_LINES",
    "MAX_QUANTITY",
    "MAX_WISHES",
    "MONEY_LIMIT",
    "NOTE_MAX",
    "TEXT_MAX",
    "WISH_VALUE_MAX",
    "BoundedMoney",
    "Grams",
    "Quantity",
    "StoreId",
    "check_fits",
    "column_length",
    "ensure_fits",
]

INT32_MAX = 2**31 - 1  # an ``Integer`` column (quantity, grams)
BIGINT_MAX = 2**63 - 1  # a ``BigInteger``: storefront ids are 64-bit

MONEY_PRECISION: int = MoneyColumn.precision  # type: ignore[assignment]
MONEY_SCALE: int = MoneyColumn.scale  # type: ignore[assignment]
MONEY_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)  # exclusive, either sign

MAX_QUANTITY = 1_000_000  # per line: far below INT32_MAX, and no shop sells more at once
MAX_GRAMS = 10**9  # a tonne per unit
MAX_LINES = 500  # Shopify's own limit on an order's line items
MAX_WISHES = 250  # properties of a line, attributes of an order
TEXT_MAX = 500  # any other text field (names, address parts): the longest column
NOTE_MAX = 65_535  # the buyer's note (a Text column): generous, but bounded
WISH_VALUE_MAX = 5_000  # a property's or note attribute's value, as text

StoreId = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
Grams = Annotated[int, Field(ge=0, le=MAX_GRAMS)]
BoundedMoney = Annotated[Money, Field(gt=-MONEY_LIMIT, lt=MONEY_LIMIT, allow_inf_nan=False)]
"""A ``Money`` amount its column holds (either sign: refunds are negative)."""


def column_length(table: type[Any], column: str) -> int:
    """The declared length of a ``String(n)`` column."""
    col_type = table.__table__.c[column].type
    assert isinstance(col_type, sa.String) and col_type.length is not None
    return int(col_type.length)


_ORDER_TEXT = ("external_id", "number", "shipping_method", "currency")
_LINE_TEXT = ("external_id", "sku", "external_product_id", "external_variant_id", "title")
_ORDER_MONEY = ("total_price", "subtotal_price", "total_tax", "shipping_price")


def _problem(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def _text(loc: list[str | int], value: str | None, limit: int) -> list[dict[str, Any]]:
    if value is not None and len(value) > limit:
        return [_problem(loc, f"at most {limit} characters", "string_too_long")]
    return []


def _money(loc: list[str | int], value: Decimal | None) -> list[dict[str, Any]]:
    if value is not None and (not value.is_finite() or abs(value) >= MONEY_LIMIT):
        return [_problem(loc, f"must be finite and below {MONEY_LIMIT}", "money_out_of_range")]
    return []


def check_fits(order: CanonicalOrder) -> list[dict[str, Any]]:
    """The problems (``loc``/``msg``/``type``) that keep ``order`` out of its columns;
    empty when it fits. Catches what the payload's own bounds cannot: sums of lines,
    names joined from parts."""
    problems: list[dict[str, Any]] = []
    for name in _ORDER_TEXT:
        problems += _text([name], getattr(order, name), column_length(Order, name))
    for name in _ORDER_MONEY:
        problems += _money([name], getattr(order, name))
    problems += _text(["buyer", "email"], order.buyer.email, column_length(Order, "buyer_email"))
    if len(order.lines) > MAX_LINES:
        problems.append(_problem(["lines"], f"at most {MAX_LINES} lines", "too_long"))
    for i, line in enumerate(order.lines):
        for name in _LINE_TEXT:
            limit = column_length(OrderLine, name)
            problems += _text(["lines", i, name], getattr(line, name), limit)
        limit = column_length(OrderLine, "variant_title")
        problems += _text(["lines", i, "variant_title"], line.variant_title, limit)
        problems += _money(["lines", i, "unit_price"], line.unit_price)
        if not 0 < line.quantity <= MAX_QUANTITY:
            msg = f"between 1 and {MAX_QUANTITY}"
            problems.append(_problem(["lines", i, "quantity"], msg, "out_of_range"))
        if line.grams is not None and not 0 <= line.grams <= MAX_GRAMS:
            msg = f"between 0 and {MAX_GRAMS}"
            problems.append(_problem(["lines", i, "grams"], msg, "out_of_range"))
        if line.quantity * abs(line.unit_price) >= MONEY_LIMIT:
            msg = "the line's amount is out of range"
            problems.append(_problem(["lines", i], msg, "money_out_of_range"))
        problems += _wishes(["lines", i, "properties"], line.properties)
    problems += _wishes(["note_attributes"], order.note_attributes)
    problems += _text(["note"], order.note, NOTE_MAX)
    return problems


def _wishes(loc: list[str | int], wishes: tuple[Wish, ...]) -> list[dict[str, Any]]:
    if len(wishes) > MAX_WISHES:
        return [_problem(loc, f"at most {MAX_WISHES} entries", "too_long")]
    problems: list[dict[str, Any]] = []
    for i, wish in enumerate(wishes):
        problems += _text([*loc, i, "name"], wish.name, TEXT_MAX)
        problems += _text([*loc, i, "value"], wish.value, WISH_VALUE_MAX)
    return problems


def ensure_fits(order: CanonicalOrder) -> CanonicalOrder:
    """``order``, or :class:`InvalidPayload` (``validation_error``) naming what does not
    fit."""
    problems = check_fits(order)
    if problems:
        raise InvalidPayload(
            f"{len(problems)} value(s) out of the bounds the order store holds", problems
        )
    return order
