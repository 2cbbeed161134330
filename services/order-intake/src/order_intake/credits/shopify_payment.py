"""Shopify: a payment link for the buyer is a draft order's invoice.

``draftOrderCreate`` (https://shopify.dev/docs/api/admin-graphql/latest/mutations/
draftOrderCreate) with one custom line item (a ``title`` and its price as
``originalUnitPriceWithCurrency`` in the draft's ``presentmentCurrencyCode``, no
variant, no shipping, not taxable: https://shopify.dev/docs/api/admin-graphql/latest/
input-objects/DraftOrderLineItemInput), the buyer's e-mail, the case's tag and the custom attribute
``dropship_payment_for_case`` (it becomes the order's ``note_attributes``, by which the
intake knows the order it turns into is not one to fulfil). The draft order's
``invoiceUrl`` is the secure checkout link the buyer pays at. The mutation takes no
idempotency key, so an attempt that may follow a lost reply looks the case's tag up
first (``draftOrders(query: "tag:…")``, ``tag`` a documented filter of the query).
Paid: the draft order is ``COMPLETED`` (https://shopify.dev/docs/api/admin-graphql/
latest/enums/DraftOrderStatus) and its order's ``displayFinancialStatus`` is ``PAID``
(or refunded since): a draft the merchant completed as "payment pending" is not paid.
Scopes: ``write_draft_orders`` (and ``read_draft_orders``)."""

from __future__ import annotations

from typing import Any

from order_intake.domain.order import PAYMENT_MARK
from order_intake.fulfilment.base import (
    CreditOutcome,
    CreditRefused,
    CreditRequest,
    StorefrontRejected,
    money_text,
)
from order_intake.storefronts.shopify_admin import AdminClient

PAYMENT_ATTRIBUTE = PAYMENT_MARK

DRAFT_BY_TAG = """
query DraftOrderByTag($query: String!) {
  draftOrders(first: 1, query: $query) { nodes { id invoiceUrl status } }
}
""".strip()

DRAFT_CREATE = """
mutation DraftOrderCreate($input: DraftOrderInput!) {
  draftOrderCreate(input: $input) {
    draftOrder { id invoiceUrl status }
    userErrors { field message }
  }
}
""".strip()

DRAFT_STATUS = """
query DraftOrderStatus($id: ID!) {
  draftOrder(id: $id) { id status order { id displayFinancialStatus } }
}
""".strip()

QUERIES = (DRAFT_BY_TAG, DRAFT_CREATE, DRAFT_STATUS)
PAID = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})  # paid, refunded since or not


def case_tag(request: CreditRequest) -> str:
    """The case's (and round's: a link asked again after one failed is a new one)."""
    suffix = f"-{request.round}" if request.round else ""
    return f"dropship-case-{request.case_id}{suffix}"


def draft_input(request: CreditRequest) -> dict[str, Any]:
    draft: dict[str, Any] = {
        "tags": [case_tag(request)],
        "note": request.reason[:5000],
        "customAttributes": [{"key": PAYMENT_ATTRIBUTE, "value": request.round_mark}],
        "presentmentCurrencyCode": request.currency,
        "lineItems": [
            {
                "title": request.reason[:255],
                "originalUnitPriceWithCurrency": {
                    "amount": money_text(request.amount),
                    "currencyCode": request.currency,
                },
                "quantity": 1,
                "requiresShipping": False,
                "taxable": False,
            }
        ],
    }
    if request.buyer_email:
        draft["email"] = request.buyer_email
    return draft


async def payment_link(admin: AdminClient, request: CreditRequest) -> CreditOutcome:
    if request.may_exist:
        found = await admin.execute(
            DRAFT_BY_TAG, {"query": f"tag:{case_tag(request)}"}, what="find draft order",
            read_only=True,
        )  # fmt: skip
        nodes = (found.get("draftOrders") or {}).get("nodes") or []
        if nodes and nodes[0].get("id"):
            return CreditOutcome(str(nodes[0]["id"]), url=nodes[0].get("invoiceUrl"), existing=True)
    data = await admin.execute(
        DRAFT_CREATE, {"input": draft_input(request)}, what="draftOrderCreate", read_only=False
    )
    payload = data.get("draftOrderCreate") or {}
    errors = payload.get("userErrors") or []
    if errors:
        raise CreditRefused("storefront_error", "; ".join(str(e.get("message")) for e in errors))
    draft = payload.get("draftOrder") or {}
    if not draft.get("id") or not draft.get("invoiceUrl"):
        raise StorefrontRejected("draftOrderCreate answered no draft order with an invoice")
    return CreditOutcome(str(draft["id"]), url=str(draft["invoiceUrl"]))


async def payment_paid(admin: AdminClient, request: CreditRequest) -> CreditOutcome:
    assert request.external_ref is not None
    data = await admin.execute(
        DRAFT_STATUS, {"id": request.external_ref}, what="draft order status", read_only=True
    )
    draft = data.get("draftOrder")
    if draft is None:  # deleted in the admin: it can no longer be paid
        raise CreditRefused("storefront_error", f"draft order {request.external_ref} is gone")
    order = draft.get("order") or {}
    paid = draft.get("status") == "COMPLETED" and order.get("displayFinancialStatus") in PAID
    return CreditOutcome(request.external_ref, paid=paid)
