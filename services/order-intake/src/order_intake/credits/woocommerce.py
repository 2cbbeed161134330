"""WooCommerce: refunds and coupons through REST API v3.

A refund is ``POST /orders/{id}/refunds`` with ``amount``, ``reason`` and ``api_refund``
(https://woocommerce.github.io/woocommerce-rest-api-docs/#create-a-refund): true asks
the payment gateway to pay it back. A gateway without automatic refunds makes WooCommerce
answer ``woocommerce_rest_cannot_create_order_refund`` and delete the refund it began;
the refund is then recorded at the store only (``api_refund`` false) with a private note
asking the merchant to pay by hand, and the outcome says the gateway did not pay.
WooCommerce has no idempotency key: the reason names the case, and an attempt that may
follow a lost reply lists the order's refunds first (``GET /orders/{id}/refunds``) and
does not refund again what it finds. What is still refundable is the order's ``total``
less its ``refunds`` (their totals are negative), read before each refund.

A coupon is ``POST /coupons`` (https://woocommerce.github.io/woocommerce-rest-api-docs/
#create-a-coupon): ``fixed_cart``, ``usage_limit`` 1, ``usage_limit_per_user`` 1,
``email_restrictions`` the buyer's e-mail, ``date_expires``; looked up by its code
first after a lost reply (``GET /coupons?code=``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRefused,
    CreditRequest,
    StorefrontRejected,
    money_text,
)

API = "/wp-json/wc/v3"
NO_GATEWAY_REFUND = "woocommerce_rest_cannot_create_order_refund"
Call = Callable[[str, str, str, dict[str, Any] | None], Awaitable[Any]]


class GatewayCannotRefund(Exception):
    """WooCommerce's answer when the payment gateway does not refund (it deleted the
    refund it began)."""


def case_mark(request: CreditRequest) -> str:
    return f"case {request.case_id}"


def refundable_of(order: dict[str, Any]) -> Decimal:
    refunded = sum(
        (abs(Decimal(str(r.get("total") or "0"))) for r in order.get("refunds") or []),
        Decimal(0),
    )
    return Decimal(str(order.get("total") or "0")) - refunded


async def refund(call: Call, order_id: str, request: CreditRequest) -> CreditOutcome:
    if request.may_exist:
        found = await call("GET", f"{API}/orders/{order_id}/refunds", "list refunds", None)
        for earlier in found or []:
            if case_mark(request) in str(earlier.get("reason") or ""):
                return CreditOutcome(str(earlier["id"]), existing=True)
    order = await call("GET", f"{API}/orders/{order_id}", "read order", None)
    if not isinstance(order, dict):
        raise CreditRefused("unknown_order", f"order {order_id} not found at WooCommerce")
    left = refundable_of(order)
    if str(order.get("currency") or request.currency) != request.currency:
        raise CreditRefused("currency_mismatch", f"the order is in {order.get('currency')}", left)
    if request.amount > left:
        code = "nothing_refundable" if left <= 0 else "over_refundable"
        raise CreditRefused(code, f"{request.amount} asked, {left} refundable", left)
    body = {
        "amount": money_text(request.amount),
        "reason": f"{request.reason} [{case_mark(request)}]",
        "api_refund": True,
    }
    gateway = True
    try:
        made = await call("POST", f"{API}/orders/{order_id}/refunds", "refund", body)
    except GatewayCannotRefund:
        gateway = False
        made = await call(
            "POST", f"{API}/orders/{order_id}/refunds", "refund", {**body, "api_refund": False}
        )
        await call(
            "POST",
            f"{API}/orders/{order_id}/notes",
            "note refund",
            {
                "note": f"Refund of {request.amount} {request.currency} recorded for"
                f" {case_mark(request)}: the payment gateway cannot refund automatically,"
                " please pay the buyer back by hand.",
                "customer_note": False,
            },
        )
    if not isinstance(made, dict) or made.get("id") is None:
        raise StorefrontRejected("WooCommerce answered no refund")
    return CreditOutcome(
        str(made["id"]), refunded_total=Decimal(str(order.get("total") or 0)) - left
        + request.amount, gateway_refunded=gateway,
    )  # fmt: skip


async def coupon(call: Call, request: CreditRequest) -> CreditOutcome:
    assert request.code is not None and request.ends_at is not None
    if request.may_exist:
        found = await call("GET", f"{API}/coupons?code={request.code}", "find coupon", None)
        if found:
            return CreditOutcome(str(found[0]["id"]), existing=True)
    body = {
        "code": request.code,
        "discount_type": "fixed_cart",
        "amount": money_text(request.amount),
        "description": request.reason[:255],
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "email_restrictions": [request.buyer_email] if request.buyer_email else [],
        "date_expires": request.ends_at.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    made = await call("POST", f"{API}/coupons", "create coupon", body)
    if not isinstance(made, dict) or made.get("id") is None:
        raise StorefrontRejected("WooCommerce answered no coupon")
    return CreditOutcome(str(made["id"]))
