"""HTML of the portal (no JavaScript needed): Jinja2 templates in ``templates/``, with
autoescape on, so every value a supplier, a buyer or a storefront wrote is escaped."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from supplier_gateway.domain.supplier_order import REJECT_REASONS
from supplier_gateway.models import SupplierOrder

STYLE = (
    "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4rem}"
    "form{margin:1rem 0}.error{color:#b00}"
)

TEMPLATES = Environment(
    loader=PackageLoader("supplier_gateway.portal", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,  # a name missing from a render is an error, not ""
    trim_blocks=True,
)


def _render(template: str, title: str, **values: Any) -> str:
    return TEMPLATES.get_template(template).render(title=title, style=STYLE, **values)


def login(csrf: str, error: str | None = None) -> str:
    return _render("login.html", "Supplier portal", csrf=csrf, error=error)


def refused(message: str) -> str:
    return _render("refused.html", "Supplier portal", message=message)


def orders(supplier_name: str, rows: list[SupplierOrder], csrf: str) -> str:
    return _render("orders.html", f"Orders for {supplier_name}", rows=rows, csrf=csrf)


def order(
    row: SupplierOrder,
    csrf: str,
    error: str | None = None,
    cases: list[dict[str, Any]] | None = None,
) -> str:
    """``cases``: how aftersales cases about this order were settled (their notices)."""
    return _render(
        "order.html",
        f"Order {row.notice.get('order_number') or row.id}",
        row=row,
        csrf=csrf,
        error=error,
        reject_reasons=REJECT_REASONS,
        cases=cases or [],
    )
