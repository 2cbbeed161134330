"""The e-mail announcing a new portal order. It carries what the supplier needs to
decide (items, quantities, destination country, ship-by), not the buyer's name or
address: those are behind the portal's sign-in. The link is added when it is sent."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from supplier_gateway.models import Supplier, SupplierEmail, SupplierOrder

MAIL_FLAG = "supplier_emails_to_send"  # session.info: wake the supplier mailer


def render(row: SupplierOrder) -> tuple[str, str]:
    notice = row.notice
    number = notice.get("order_number") or str(row.id)
    ship_by = row.ship_by.isoformat() if row.ship_by else notice.get("ship_by")
    country = (notice.get("recipient") or {}).get("country_code") or "?"
    lines = []
    for item in notice["items"]:
        what = " / ".join(str(x) for x in (item.get("title"), item.get("variant")) if x)
        wishes = ", ".join(f"{w['name']}: {w['value']}" for w in item.get("wishes", []))
        lines.append(
            f"- {item['quantity']} x {what} (your product {item['supplier_product_id']})"
            + (f" [{wishes}]" if wishes else "")
        )
    subject = f"New order {number}: please ship by {ship_by}"
    replacement = notice.get("replacement")
    if replacement:
        subject = f"Replacement for order {number}: please ship by {ship_by}"
        lines.append(
            f"(a replacement of our order {replacement.get('replaces_supplier_order_id')})"
        )
    body = "\n".join(
        [
            "Hello,",
            "",
            f"you have a new order to ship to {country} by {ship_by}:",
            *lines,
            "",
            "Please accept it, or reject it if you cannot ship it, and enter the tracking",
            "number(s) the day the parcel leaves.",
        ]
    )
    return subject, body


def queue_new_order_email(session: AsyncSession, row: SupplierOrder, supplier: Supplier) -> None:
    """Nothing when the supplier has no contact e-mail."""
    if not supplier.contact_email:
        return
    subject, body = render(row)
    session.add(
        SupplierEmail(
            supplier_order_id=row.id,
            to_address=supplier.contact_email,
            subject=subject[:300],
            body=body,
            status="pending",
            next_attempt_at=utcnow(),
        )
    )
    session.info[MAIL_FLAG] = True
