"""Shipping notices per supplier and the customs threshold flag (pure)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from dropship_common.contracts.order_intake import (
    AddressV1,
    BuyerV1,
    OrderConfirmed,
    OrderLineV1,
    WishV1,
)
from supplier_gateway.domain.customs import assess
from supplier_gateway.domain.notice import MappedProduct, shipping_notice, split

MAIN, EU_WH = uuid.UUID(int=1), uuid.UUID(int=2)


def _order(country: str = "DE", currency: str = "EUR") -> OrderConfirmed:
    def line(sku: str, price: str, qty: int, props: list[WishV1] | None = None) -> OrderLineV1:
        return OrderLineV1(
            line_id=uuid.uuid4(),
            sku=sku,
            title=sku.title(),
            quantity=qty,
            unit_price=Decimal(price),
            properties=props or [],
        )

    return OrderConfirmed(
        order_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        platform="shopify",
        external_id="1",
        number="#1",
        currency=currency,
        total_price=Decimal("0"),
        shipping_method="Standard",
        buyer=BuyerV1(name="Lena", email=None, phone="+49301234567", language="en"),
        shipping_address=AddressV1(
            name="Lena",
            line1="Unter den Linden 5",
            city="Berlin",
            postal_code="10117",
            country_code=country,
        ),
        lines=[
            line("MUG-1", "60.00", 2, [WishV1(name="colour", value="blue")]),
            line("TEE-M", "31.00", 1),
            line("NOPE", "5.00", 1),
        ],
        note="gift",
        note_attributes=[WishV1(name="wrap", value="yes")],
        confirmed_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        ship_by=dt.date(2026, 11, 5),
    )


def _product(supplier: uuid.UUID, **kw) -> MappedProduct:  # type: ignore[no-untyped-def]
    base = dict(
        supplier_product_id="P",
        supplier_variant_id=None,
        customs_description="goods",
        hs_code="691200",
        weight_grams=300,
        priority=1,
        destination_country=None,
        active=True,
    )
    return MappedProduct(supplier, **{**base, **kw})  # type: ignore[arg-type]


def test_lines_split_by_supplier_destination_first_unmapped_apart() -> None:
    order = _order("DE")
    products = {
        "MUG-1": [
            _product(MAIN),
            _product(EU_WH, destination_country="DE", supplier_product_id="E"),
        ],
        "TEE-M": [_product(MAIN, supplier_product_id="T")],
    }
    plan = split(order, products)
    assert {k: [ln.sku for ln, _ in v] for k, v in plan.by_supplier.items()} == {
        EU_WH: ["MUG-1"],
        MAIN: ["TEE-M"],
    }
    assert [ln.sku for ln in plan.unroutable] == ["NOPE"]
    plan_fr = split(_order("FR"), products)
    assert [ln.sku for ln, _ in plan_fr.by_supplier[MAIN]] == ["MUG-1", "TEE-M"]


def test_notice_carries_recipient_wishes_and_the_true_value() -> None:
    order = _order("DE")
    items = [(order.lines[0], _product(MAIN, weight_grams=350)), (order.lines[1], _product(MAIN))]
    notice = shipping_notice(order, items, dt.date(2026, 11, 2))
    assert notice["recipient"]["postal_code"] == "10117"
    assert notice["recipient"]["phone"] == "+49301234567"
    assert notice["buyer_wishes"] == [{"name": "wrap", "value": "yes"}]
    assert notice["items"][0]["wishes"] == [{"name": "colour", "value": "blue"}]
    customs = notice["customs"]
    assert customs["total_value"] == "151.00"  # 2 x 60 + 31: never under-declared
    assert customs["items"][0]["weight_grams"] == 700
    assert customs["threshold_crossed"] is True and customs["threshold"] == "150"


@pytest.mark.parametrize(
    ("country", "value", "currency", "on", "crossed", "threshold"),
    [
        ("DE", "150.00", "EUR", dt.date(2026, 1, 1), False, Decimal("150")),
        ("FR", "150.01", "EUR", dt.date(2026, 1, 1), True, Decimal("150")),
        ("GB", "136", "GBP", dt.date(2026, 1, 1), True, Decimal("135")),
        ("AU", "999", "AUD", dt.date(2026, 1, 1), False, Decimal("1000")),
        ("US", "10", "USD", dt.date(2024, 6, 1), False, Decimal("800")),
        ("US", "10", "USD", dt.date(2026, 1, 1), True, Decimal("0")),  # de minimis suspended
        ("DE", "10", "USD", dt.date(2026, 1, 1), None, Decimal("150")),  # no FX here
        ("JP", "10", "JPY", dt.date(2026, 1, 1), None, None),  # no rule on file
    ],
)
def test_thresholds_by_destination_and_effective_date(
    country: str,
    value: str,
    currency: str,
    on: dt.date,
    crossed: bool | None,
    threshold: Decimal | None,
) -> None:
    a = assess(country, Decimal(value), currency, on)
    assert (a.crossed, a.threshold) == (crossed, threshold)


def test_the_goods_cost_is_kept_for_aftersales_and_never_sent_to_the_supplier() -> None:
    from supplier_gateway.domain.notice import goods_cost, shipping_notice, supplier_view

    supplier = uuid.uuid4()
    o = _order()
    costed = [(line, _product(supplier, unit_cost=Decimal("4.50"), cost_currency="USD"))
              for line in o.lines]  # fmt: skip
    notice = shipping_notice(o, costed, dt.date(2026, 11, 2))
    quantity = sum(line.quantity for line in o.lines)
    assert notice["goods_cost"] == {"amount": str(Decimal("4.50") * quantity), "currency": "USD"}
    assert "goods_cost" not in supplier_view(notice)
    assert goods_cost([(o.lines[0], _product(supplier))]) is None  # a line without a cost
