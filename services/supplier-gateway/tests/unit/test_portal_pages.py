"""The portal's pages come from Jinja2 templates with autoescape: whatever a buyer, a
storefront or a supplier wrote is shown as text, never run as markup."""

from __future__ import annotations

import uuid

from supplier_gateway.models import SupplierOrder
from supplier_gateway.portal import pages

EVIL = "<script>alert('x')</script>"


def _order(status: str = "placed") -> SupplierOrder:
    return SupplierOrder(
        id=uuid.uuid4(),
        status=status,
        notice={
            "order_number": f"#1001{EVIL}",
            "ship_by": "2026-12-08",
            "shipping_method": "standard",
            "buyer_note": f"leave at door {EVIL}",
            "recipient": {
                "name": f"Ann {EVIL}",
                "line1": "1 Main St",
                "city": "Berlin",
                "postal_code": "10115",
                "country_code": "DE",
            },
            "items": [
                {
                    "supplier_product_id": "P1",
                    "supplier_variant_id": None,
                    "title": f"Mug {EVIL}",
                    "variant": "red",
                    "quantity": 2,
                    "wishes": [{"name": "Engraving", "value": EVIL}],
                },
            ],
            "customs": {
                "currency": "EUR",
                "items": [
                    {
                        "description": f"mug {EVIL}",
                        "hs_code": "6912",
                        "quantity": 2,
                        "unit_value": "4.50",
                        "weight_grams": 300,
                    },
                ],
            },
        },
    )


def test_every_value_on_an_order_page_is_escaped() -> None:
    html = pages.order(_order(), csrf="tok'en", error=f"bad {EVIL}")
    assert "<script>" not in html
    assert (
        html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 8
    )  # title twice, error, name, note, item, wish, customs
    assert "value='tok&#39;en'" in html  # an attribute cannot be closed either
    assert html.count("name='csrf'") == 4  # accept, ship, reject, sign out
    assert "<td>Mug &lt;script&gt;" in html and "<td>2</td>" in html
    assert "<td>4.50 EUR</td><td>300 g</td>" in html


def test_forms_follow_the_supplier_order_s_status() -> None:
    accepted = pages.order(_order("accepted"), csrf="t")
    assert "/accept'" not in accepted and "/ship'" in accepted and "/reject'" in accepted
    shipped = pages.order(_order("shipped"), csrf="t")
    assert "/ship'" not in shipped and shipped.count("name='csrf'") == 1  # sign out only


def test_the_order_list_and_the_other_pages() -> None:
    listing = pages.orders(f"Acme {EVIL}", [_order()], csrf="t")
    assert "<script>" not in listing and "Orders for Acme &lt;script&gt;" in listing
    assert "<td>DE</td><td>2</td>" in listing
    assert "Nothing to ship right now." in pages.orders("Acme", [], csrf="t")
    assert "<script>" not in pages.login("t", error=EVIL)
    assert "&lt;script&gt;" in pages.refused(EVIL)


def test_a_reship_says_what_it_replaces_and_cases_are_listed_as_text() -> None:
    row = _order()
    original = uuid.uuid4()
    row.notice = {
        **row.notice,
        "replacement": {
            "case_id": "c-1",
            "replaces_supplier_order_id": str(original),
            "reason": f"lost {EVIL}",
        },
    }
    case = {
        "case_type": "damaged",
        "resolution": "return_then_refund",
        "cost": "12.50",
        "currency": "EUR",
        "borne_by": "supplier",
        "goods_back": True,
        "note": f"cracked {EVIL}",
    }
    html = pages.order(row, csrf="t", cases=[case])
    assert "Replacement shipment (aftersales case c-1)" in html
    assert f"<a href='/portal/orders/{original}'>" in html
    assert html.count("class='case'") == 1 and "12.50 EUR" in html
    assert EVIL not in html and "cracked &lt;script&gt;" in html
    plain = pages.order(_order(), csrf="t")
    assert "Replacement" not in plain and "Aftersales cases" not in plain
