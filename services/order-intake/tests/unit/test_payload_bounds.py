"""Storefront payloads bounded by the columns they are written to, and one-line text
kept one line (issue 11, §5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from dropship_common import mail
from dropship_testkit.storefront import shopify_order_body, woo_order_body
from order_intake.models import Order, OrderLine
from order_intake.storefronts import InvalidPayload, clean, clean_email, clean_text, shopify
from order_intake.storefronts import woocommerce as woo
from order_intake.storefronts.bounds import (
    _LINE_TEXT,
    _ORDER_MONEY,
    _ORDER_TEXT,
    BIGINT_MAX,
    INT32_MAX,
    MAX_QUANTITY,
    MONEY_LIMIT,
    TEXT_MAX,
    column_length,
)
from order_intake.webhooks.topics import validate_body

Edit = Callable[[dict[str, Any]], None]


def _shopify(edit: Edit) -> bytes:
    order = json.loads(shopify_order_body())
    edit(order)
    return json.dumps(order).encode()


def _woo(edit: Edit) -> bytes:
    order = json.loads(woo_order_body())
    edit(order)
    return json.dumps(order).encode()


def _set(path: str, value: Any) -> Edit:
    """``"line_items.0.quantity"`` -> an edit setting it."""

    def edit(order: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = order
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value

    return edit


def _raw(body: bytes, placeholder: str, literal: bytes) -> bytes:
    """A JSON number json.dumps cannot write (1e400, 1e30 as a float literal)."""
    out = body.replace(json.dumps(placeholder).encode(), literal)
    assert out != body
    return out


# each: what the review sent, accepted with 200 and then failing (or confirmed)
SHOPIFY_OUT_OF_BOUNDS = {
    "quantity-1e30": _raw(_shopify(_set("line_items.0.quantity", "Q")), "Q", b"1e30"),
    "quantity-2**62": _shopify(_set("line_items.0.quantity", 2**62)),
    "quantity-past-max": _shopify(_set("line_items.0.quantity", MAX_QUANTITY + 1)),
    "id-2**70": _shopify(_set("id", 2**70)),
    "line-id-2**64": _shopify(_set("line_items.0.id", 2**64)),
    "customer-id-negative": _shopify(_set("customer.id", -1)),
    "total-1e400": _raw(_shopify(_set("total_price", "T")), "T", b"1e400"),
    "total-past-numeric": _shopify(_set("total_price", str(MONEY_LIMIT))),
    "price-nan": _shopify(_set("line_items.0.price", "NaN")),
    "title-500000": _shopify(_set("line_items.0.title", "n" * 500_000)),
    "name-500000": _shopify(_set("shipping_address.name", "n" * 500_000)),
    "number-past-column": _shopify(_set("name", "#" * (column_length(Order, "number") + 1))),
    "sku-past-column": _shopify(_set("line_items.0.sku", "s" * 256)),
    "line-amount-past-numeric": _shopify(
        lambda o: o["line_items"][0].update(price=str(MONEY_LIMIT - 1), quantity=2)
    ),
}
WOO_OUT_OF_BOUNDS = {
    "quantity-1e30": _raw(_woo(_set("line_items.0.quantity", "Q")), "Q", b"1e30"),
    "quantity-2**62": _woo(_set("line_items.0.quantity", 2**62)),
    "id-2**70": _woo(_set("id", 2**70)),
    "total-1e400": _raw(_woo(_set("total", "T")), "T", b"1e400"),
    "price-1e30": _raw(_woo(_set("line_items.0.price", "P")), "P", b"1e30"),
    "name-500000": _woo(_set("line_items.0.name", "n" * 500_000)),
    "first-name-500000": _woo(_set("billing.first_name", "n" * 500_000)),
}


@pytest.mark.parametrize("body", SHOPIFY_OUT_OF_BOUNDS.values(), ids=SHOPIFY_OUT_OF_BOUNDS.keys())
def test_a_shopify_value_out_of_its_column_is_refused_at_the_door(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        validate_body("shopify", "orders/create", body)
    with pytest.raises(InvalidPayload):  # and the processor would refuse it too
        shopify.parse_order(body)


@pytest.mark.parametrize("body", WOO_OUT_OF_BOUNDS.values(), ids=WOO_OUT_OF_BOUNDS.keys())
def test_a_woocommerce_value_out_of_its_column_is_refused_at_the_door(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        validate_body("woocommerce", "order.created", body)
    with pytest.raises(InvalidPayload):
        woo.parse_order(body)


def test_values_at_the_bounds_are_accepted() -> None:
    def edit(order: dict[str, Any]) -> None:
        order["id"] = BIGINT_MAX
        order["line_items"][0].update(quantity=MAX_QUANTITY, title="t" * TEXT_MAX, price="1.00")
        order["name"] = "#" * column_length(Order, "number")

    body = _shopify(edit)
    validate_body("shopify", "orders/create", body)
    co = shopify.parse_order(body)
    assert co.external_id == str(BIGINT_MAX) and co.lines[0].quantity == MAX_QUANTITY


def test_the_bounds_are_the_columns() -> None:
    """The parser's bounds and the models' columns cannot drift apart."""
    money_columns = [
        c
        for table in (Order.__table__, OrderLine.__table__)
        for c in table.c
        if isinstance(c.type, sa.Numeric) and not isinstance(c.type, sa.Float)
    ]
    assert {c.name for c in money_columns} >= {*_ORDER_MONEY, "unit_price"}
    for c in money_columns:
        assert isinstance(c.type, sa.Numeric)
        assert c.type.precision is not None and c.type.scale is not None
        assert Decimal(10) ** (c.type.precision - c.type.scale) == MONEY_LIMIT, c.name
    # every text column a storefront fills is checked, at its declared length
    for name in _ORDER_TEXT:
        assert isinstance(Order.__table__.c[name].type, sa.String)
    for name in (*_LINE_TEXT, "variant_title"):
        assert isinstance(OrderLine.__table__.c[name].type, sa.String)
    filled_by_payload = {"external_id", "number", "shipping_method", "currency", "buyer_email"}
    order_strings = {
        c.name for c in Order.__table__.c if isinstance(c.type, sa.String) and c.type.length
    }
    internal = {"platform", "status", "payment_status"}
    assert order_strings - internal == filled_by_payload
    line_strings = {
        c.name for c in OrderLine.__table__.c if isinstance(c.type, sa.String) and c.type.length
    }
    assert line_strings - {"sku_override"} == {*_LINE_TEXT, "variant_title"}
    # integers: quantity and grams are Integer columns, ids BigInteger-sized
    assert isinstance(OrderLine.__table__.c["quantity"].type, sa.Integer)
    assert not isinstance(OrderLine.__table__.c["quantity"].type, sa.BigInteger)
    assert MAX_QUANTITY <= INT32_MAX
    assert BIGINT_MAX == 2**63 - 1
    # a payload's text field is never longer than the longest column it may go to
    longest = max(column_length(OrderLine, "title"), column_length(OrderLine, "variant_title"))
    assert longest >= TEXT_MAX


# ------------------------------------------------------------------ one-line text, e-mails

INJECTED = "jon@example.com\r\nBcc: everyone@example.net"


def test_one_line_fields_lose_line_breaks_and_control_characters() -> None:
    assert clean("Ann\r\nBcc: x@y\x00 \u2028Lee") == "Ann Bcc: x@y Lee"
    assert clean("  Main   St\t5 ") == "Main St 5"
    assert clean("\r\n") is None
    assert clean_text("line one\r\nline two\x07") == "line one\nline two"


@pytest.mark.parametrize(
    "address",
    [INJECTED, "a@b.c\nd", "a b@c.d", "Jon <jon@example.com>", "a@b.c, d@e.f", "a@b@c", "nope"],
)
def test_an_email_that_is_not_one_address_is_dropped(address: str) -> None:
    assert clean_email(address) is None


def test_a_plain_email_is_kept() -> None:
    assert clean_email(" jon@example.com ") == "jon@example.com"


def test_crlf_in_a_shopify_order_gives_an_order_the_mails_can_be_written_for() -> None:
    def edit(order: dict[str, Any]) -> None:
        order.update(name="#10\r\n01", email=INJECTED, contact_email=INJECTED)
        order["customer"].update(first_name="Bob\r\nBcc: x@y", email=INJECTED)
        order["shipping_address"]["name"] = "Bob\nNorman"
        order["line_items"][0]["title"] = "Mug\r\nX-Injected: 1"

    co = shopify.parse_order(_shopify(edit))
    assert co.number == "#10 01" and co.buyer.email is None
    assert co.buyer.name is not None and "\n" not in co.buyer.name
    assert co.shipping_address is not None and co.shipping_address.name == "Bob Norman"
    assert co.lines[0].title == "Mug X-Injected: 1"
    # the subjects the buyer's and the supplier's mails are written with
    for subject in (f"Your order {co.number}", f"New order {co.number}: please ship"):
        msg = mail.text_message("shop@example.com", "jon@example.com", subject, "hello")
        assert b"\nBcc" not in msg.as_bytes() and msg["Subject"] == subject


def test_crlf_in_a_woocommerce_order_is_normalised_and_the_email_dropped() -> None:
    def edit(order: dict[str, Any]) -> None:
        order["billing"].update(email=INJECTED, first_name="Ann\r\n", last_name="Lee\r\nX: y")
        order["number"] = "7\r\n27"

    co = woo.parse_order(_woo(edit))
    assert co.buyer.email is None and co.buyer.name == "Ann Lee X: y" and co.number == "7 27"
