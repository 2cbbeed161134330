"""HTML of the portal (no JavaScript needed). Every value is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from supplier_gateway.domain.supplier_order import REJECT_REASONS
from supplier_gateway.models import SupplierOrder

STYLE = (
    "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4rem}"
    "form{margin:1rem 0}.error{color:#b00}"
)


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _csrf(token: str) -> str:
    return f"<input type='hidden' name='csrf' value='{escape(token)}'>"


def _sign_out(csrf: str) -> str:
    return (
        f"<form method='post' action='/portal/logout'>{_csrf(csrf)}<button>Sign out</button></form>"
    )


def login(csrf: str, error: str | None = None) -> str:
    err = f"<p class='error'>{escape(error)}</p>" if error else ""
    return page(
        "Supplier portal",
        f"{err}<form method='post' action='/portal/login'>{_csrf(csrf)}<label>Your key "
        "<input type='password' name='key' required></label> <button>Sign in</button></form>",
    )


def refused(message: str) -> str:
    return page(
        "Supplier portal",
        f"<p class='error'>{escape(message)}</p><p><a href='/portal'>Back to the portal</a></p>",
    )


def orders(supplier_name: str, rows: list[SupplierOrder], csrf: str) -> str:
    if not rows:
        return page(
            f"Orders for {supplier_name}", "<p>Nothing to ship right now.</p>" + _sign_out(csrf)
        )
    lines = "".join(
        f"<tr><td><a href='/portal/orders/{r.id}'>{escape(str(r.notice.get('order_number') or r.id))}"
        f"</a></td><td>{escape(r.status)}</td><td>{escape(r.notice.get('ship_by') or '')}</td>"
        f"<td>{escape(r.notice['recipient'].get('country_code') or '')}</td>"
        f"<td>{sum(i['quantity'] for i in r.notice['items'])}</td></tr>"
        for r in rows
    )
    return page(
        f"Orders for {supplier_name}",
        "<table><tr><th>Order</th><th>Status</th><th>Ship by</th><th>To</th><th>Items</th></tr>"
        f"{lines}</table>" + _sign_out(csrf),
    )


def _kv(pairs: list[tuple[str, Any]]) -> str:
    return "".join(
        f"<tr><th>{escape(k)}</th><td>{escape('' if v is None else str(v))}</td></tr>"
        for k, v in pairs
    )


def order(row: SupplierOrder, csrf: str, error: str | None = None) -> str:
    n = row.notice
    r = n["recipient"]
    items = "".join(
        f"<tr><td>{escape(i['supplier_product_id'])}</td><td>{escape(i.get('supplier_variant_id') or '')}"
        f"</td><td>{escape(i['title'])} {escape(i.get('variant') or '')}</td><td>{i['quantity']}</td>"
        f"<td>{escape('; '.join(w['name'] + ': ' + w['value'] for w in i['wishes']))}</td></tr>"
        for i in n["items"]
    )
    customs = n["customs"]
    declared = "".join(
        f"<tr><td>{escape(c['description'])}</td><td>{escape(c.get('hs_code') or '')}</td>"
        f"<td>{c['quantity']}</td><td>{escape(c['unit_value'])} {escape(customs['currency'])}</td>"
        f"<td>{c['weight_grams']} g</td></tr>"
        for c in customs["items"]
    )
    actions = ""
    if row.status in ("placed", "accepted"):
        reasons = "".join(f"<option>{escape(x)}</option>" for x in REJECT_REASONS)
        accept = (
            f"<form method='post' action='/portal/orders/{row.id}/accept'>{_csrf(csrf)}"
            "<button>Accept</button></form>"
            if row.status == "placed"
            else ""
        )
        actions = (
            accept + f"<form method='post' action='/portal/orders/{row.id}/ship'>{_csrf(csrf)}"
            "<h2>Shipped</h2>"
            "<label>Carrier <input name='carrier' required></label> "
            "<label>Tracking number(s), one per line<textarea name='tracking' required></textarea></label>"
            "<button>Mark shipped</button></form>"
            f"<form method='post' action='/portal/orders/{row.id}/reject'>{_csrf(csrf)}"
            "<h2>Cannot ship</h2>"
            f"<label>Reason <select name='reason'>{reasons}</select></label> "
            "<label>Restock date <input type='date' name='restock_date'></label> "
            "<label>Note <input name='note'></label><button>Reject</button></form>"
        )
    err = f"<p class='error'>{escape(error)}</p>" if error else ""
    return page(
        f"Order {n.get('order_number') or row.id}",
        err
        + f"<p>Status: <strong>{escape(row.status)}</strong> — ship by {escape(n['ship_by'])}</p>"
        + "<h2>Ship to</h2><table>"
        + _kv(
            [
                ("Name", r.get("name")),
                ("Phone", r.get("phone")),
                ("Address", r.get("line1")),
                ("", r.get("line2")),
                ("City", r.get("city")),
                ("Province", r.get("province")),
                ("Postal code", r.get("postal_code")),
                ("Country", r.get("country_code")),
                ("Shipping method", n.get("shipping_method")),
                ("Buyer's note", n.get("buyer_note")),
            ]
        )
        + "</table><h2>Items</h2><table><tr><th>Product</th><th>Variant</th><th>Title</th>"
        + f"<th>Qty</th><th>Buyer's wishes</th></tr>{items}</table>"
        + "<h2>Customs declaration (true value)</h2><table><tr><th>Description</th><th>HS</th>"
        + f"<th>Qty</th><th>Unit value</th><th>Weight</th></tr>{declared}</table>"
        + actions
        + "<p><a href='/portal'>All orders</a></p>"
        + _sign_out(csrf),
    )
