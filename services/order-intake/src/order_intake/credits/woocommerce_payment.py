"""WooCommerce: a payment link for the buyer is a pending order of its own.

``POST /orders`` (https://woocommerce.github.io/woocommerce-rest-api-docs/#create-an-order)
with ``status`` ``pending``, the order's currency, the buyer's billing e-mail (and
customer account, when the order has one), one fee line for the amount (no tax) and the
meta ``dropship_payment_for_case`` (by which the intake knows this order is not one to
fulfil); its ``payment_url`` (read-only, "Order payment URL" in the order schema of
WooCommerce's REST controller) is the "pay for order" page the buyer pays at. WooCommerce
has no idempotency key: an attempt that may follow a lost reply searches the orders for
the case id (``GET /orders?search=``, which looks in the orders' item names, the fee's
among them) and takes the one whose meta names the case. Paid: the order is
``processing`` or ``completed``, or has a ``date_paid``; cancelled, failed or trashed,
it can no longer be paid."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from order_intake.credits.woocommerce import API, Call
from order_intake.domain.order import PAYMENT_MARK
from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRefused,
    CreditRequest,
    StorefrontRejected,
    money_text,
)

PAYMENT_META = PAYMENT_MARK
PAID = frozenset({"processing", "completed"})
DEAD = frozenset({"cancelled", "failed", "trash", "refunded"})


def _for_case(order: Any, request: CreditRequest) -> bool:
    return isinstance(order, dict) and any(
        m.get("key") == PAYMENT_META and str(m.get("value")) == request.round_mark
        for m in order.get("meta_data") or []
        if isinstance(m, dict)
    )


def order_body(request: CreditRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "pending",
        "set_paid": False,
        "currency": request.currency,
        "fee_lines": [
            {
                "name": f"{request.reason[:200]} [case {request.case_id}]",
                "total": money_text(request.amount),
                "tax_status": "none",
            }
        ],
        "meta_data": [{"key": PAYMENT_META, "value": request.round_mark}],
    }
    if request.buyer_email:
        body["billing"] = {"email": request.buyer_email}
    if request.buyer_ref and request.buyer_ref.isdigit() and request.buyer_ref != "0":
        body["customer_id"] = int(request.buyer_ref)
    return body


async def payment_link(call: Call, request: CreditRequest) -> CreditOutcome:
    if request.may_exist:
        path = f"{API}/orders?search={quote(str(request.case_id))}&status=any&per_page=10"
        for found in await call("GET", path, "find payment order", None) or []:
            if _for_case(found, request) and found.get("payment_url"):
                return CreditOutcome(str(found["id"]), url=str(found["payment_url"]), existing=True)
    made = await call("POST", f"{API}/orders", "create payment order", order_body(request))
    if not isinstance(made, dict) or made.get("id") is None or not made.get("payment_url"):
        raise StorefrontRejected("WooCommerce answered no order with a payment_url")
    return CreditOutcome(str(made["id"]), url=str(made["payment_url"]))


async def payment_paid(call: Call, request: CreditRequest) -> CreditOutcome:
    assert request.external_ref is not None
    order = await call("GET", f"{API}/orders/{request.external_ref}", "read payment order", None)
    if not isinstance(order, dict):
        raise CreditRefused("storefront_error", f"order {request.external_ref} is gone")
    status = str(order.get("status") or "")
    if status in DEAD:
        raise CreditRefused("storefront_error", f"order {request.external_ref} is {status}")
    paid = status in PAID or bool(order.get("date_paid"))
    return CreditOutcome(request.external_ref, paid=paid)
