"""Shopify: refunds and discount codes through the Admin GraphQL API.

A refund reads the order's ``suggestedRefund`` first (what is still refundable, and the
payment transactions a refund goes back through: gateway and parent transaction,
https://shopify.dev/docs/api/admin-graphql/latest/objects/SuggestedRefund), then
``refundCreate`` with those transactions for the amount and the ``@idempotent``
directive, one key per case (optional from 2026-01, required from 2026-04:
https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations).
A reply lost after Shopify committed is safe to send again: with the same key Shopify
"will return the result of the original operation instead of creating a new one"
(https://shopify.dev/docs/api/usage/idempotent-requests).

A discount code is ``discountCodeBasicCreate`` (a fixed amount off the whole order,
``usageLimit`` 1, once per customer; ``code``, ``title`` and ``context`` required:
https://shopify.dev/docs/api/admin-graphql/latest/input-objects/DiscountCodeBasicInput).
The mutation takes no idempotency key, so the code is the case's own and an attempt
that may follow a lost reply looks it up first (``codeDiscountNodeByCode``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRefused,
    CreditRequest,
    StorefrontRejected,
    money_text,
)
from order_intake.storefronts.shopify_admin import AdminClient

SUGGESTED_REFUND = """
query SuggestedRefund($id: ID!) {
  order(id: $id) {
    currencyCode
    suggestedRefund(suggestFullRefund: true) {
      maximumRefundableSet { shopMoney { amount currencyCode } }
      suggestedTransactions {
        gateway
        parentTransaction { id }
        maximumRefundableSet { shopMoney { amount currencyCode } }
      }
    }
  }
}
""".strip()

# an earlier attempt's refund, found by the case named in its note (lookup before retry)
ORDER_REFUNDS = """
query OrderRefunds($id: ID!) {
  order(id: $id) {
    refunds(first: 50) { id note totalRefundedSet { shopMoney { amount currencyCode } } }
    totalRefundedSet { shopMoney { amount currencyCode } }
  }
}
""".strip()

REFUND_CREATE = """
mutation RefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
    order { totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}
""".strip()

DISCOUNT_BY_CODE = """
query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}
""".strip()

DISCOUNT_CREATE = """
mutation DiscountCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
""".strip()

QUERIES = (SUGGESTED_REFUND, ORDER_REFUNDS, REFUND_CREATE, DISCOUNT_BY_CODE, DISCOUNT_CREATE)


def _money(bag: Any) -> tuple[Decimal, str]:
    shop = (bag or {}).get("shopMoney") or {}
    return Decimal(str(shop.get("amount") or "0")), str(shop.get("currencyCode") or "")


def refund_transactions(
    order_gid: str, amount: Decimal, suggested: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The amount spread over the suggested transactions (each up to what it can take
    back), in their order: Shopify refunds through the payments made."""
    left, out = amount, []
    for tx in suggested:
        if left <= 0:
            break
        can, _ = _money(tx.get("maximumRefundableSet"))
        parent = (tx.get("parentTransaction") or {}).get("id")
        take = min(left, can)
        if take <= 0 or not parent:
            continue
        out.append(
            {
                "orderId": order_gid,
                "parentId": parent,
                "gateway": tx.get("gateway"),
                "kind": "REFUND",
                "amount": money_text(take),
            }
        )
        left -= take
    return out


def case_mark(request: CreditRequest) -> str:
    """What the refund's note carries to be found again (and what the refunds/create
    webhook reads back as the case)."""
    return f"case {request.case_id}"


async def _earlier(
    admin: AdminClient, order_gid: str, request: CreditRequest
) -> CreditOutcome | None:
    data = await admin.execute(
        ORDER_REFUNDS, {"id": order_gid}, what="order refunds", read_only=True
    )
    order = data.get("order") or {}
    for found in order.get("refunds") or []:
        if case_mark(request) in str(found.get("note") or ""):
            total, _ = _money(order.get("totalRefundedSet"))
            return CreditOutcome(str(found["id"]), refunded_total=total, existing=True)
    return None


async def refund(admin: AdminClient, order_gid: str, request: CreditRequest) -> CreditOutcome:
    if request.may_exist:
        earlier = await _earlier(admin, order_gid, request)
        if earlier is not None:
            return earlier
    data = await admin.execute(
        SUGGESTED_REFUND, {"id": order_gid}, what="suggestedRefund", read_only=True
    )
    order = data.get("order")
    if order is None:
        raise CreditRefused("unknown_order", f"order {order_gid} not found at Shopify")
    suggested = order.get("suggestedRefund") or {}
    refundable, currency = _money(suggested.get("maximumRefundableSet"))
    if currency and currency != request.currency:
        raise CreditRefused(
            "currency_mismatch", f"Shopify refunds in {currency}, not {request.currency}",
            refundable,
        )  # fmt: skip
    transactions = refund_transactions(
        order_gid, request.amount, list(suggested.get("suggestedTransactions") or [])
    )
    covered = sum((Decimal(t["amount"]) for t in transactions), Decimal(0))
    if covered < request.amount:
        code = "nothing_refundable" if refundable <= 0 else "over_refundable"
        raise CreditRefused(
            code, f"{request.amount} {request.currency} asked, {refundable} refundable at"
            " Shopify", refundable,
        )  # fmt: skip
    note = f"{request.reason} [{case_mark(request)}]"
    data = await admin.execute(
        REFUND_CREATE,
        {
            "input": {
                "orderId": order_gid,
                "note": note,
                "notify": True,
                "transactions": transactions,
            },
            "key": request.key,
        },
        what="refundCreate",
        read_only=True,  # the same key gets the same refund: safe to send again
    )
    payload = data.get("refundCreate") or {}
    errors = payload.get("userErrors") or []
    if errors:
        message = "; ".join(str(e.get("message")) for e in errors)
        raise CreditRefused("storefront_error", message, refundable)
    created = payload.get("refund") or {}
    if not created.get("id"):
        raise StorefrontRejected("refundCreate answered no refund")
    total, _ = _money((payload.get("order") or {}).get("totalRefundedSet"))
    return CreditOutcome(str(created["id"]), refunded_total=total)


def buyers(request: CreditRequest) -> dict[str, Any]:
    """Who may use the code: the order's customer when the order has a customer
    account (``DiscountContextInput.customers``), else anyone who has it (a guest
    checkout: the code is single-use and known only to the buyer)."""
    if request.buyer_ref:
        ref = request.buyer_ref
        gid = ref if ref.startswith("gid://") else f"gid://shopify/Customer/{ref}"
        return {"customers": {"add": [gid]}}
    return {"all": "ALL"}


async def discount(admin: AdminClient, request: CreditRequest) -> CreditOutcome:
    assert request.code is not None and request.ends_at is not None
    if request.may_exist:
        found = (
            await admin.execute(
                DISCOUNT_BY_CODE, {"code": request.code}, what="find discount", read_only=True
            )
        ).get("codeDiscountNodeByCode")
        if found and found.get("id"):
            return CreditOutcome(str(found["id"]), existing=True)
    data = await admin.execute(
        DISCOUNT_CREATE,
        {
            "discount": {
                "title": request.reason[:255],
                "code": request.code,
                "endsAt": request.ends_at.isoformat(),
                "usageLimit": 1,
                "appliesOncePerCustomer": True,
                "context": buyers(request),
                "customerGets": {
                    "value": {
                        "discountAmount": {
                            "amount": money_text(request.amount),
                            "appliesOnEachItem": False,
                        }
                    },
                    "items": {"all": True},
                },
            }
        },
        what="discountCodeBasicCreate",
        read_only=False,
    )
    payload = data.get("discountCodeBasicCreate") or {}
    errors = payload.get("userErrors") or []
    if errors:
        raise CreditRefused("storefront_error", "; ".join(str(e.get("message")) for e in errors))
    node = payload.get("codeDiscountNode") or {}
    if not node.get("id"):
        raise StorefrontRejected("discountCodeBasicCreate answered no discount")
    return CreditOutcome(str(node["id"]))
