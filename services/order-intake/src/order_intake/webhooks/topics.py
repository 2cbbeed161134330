"""Which storefront topics we take, and how each body is validated (at the door:
a body that cannot be processed is refused before anything is stored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from order_intake.storefronts import load_json, shopify, validate_payload, woocommerce
from order_intake.storefronts.bounds import TEXT_MAX, StoreId, ensure_fits
from order_intake.storefronts.shopify_aftersales import ShopifyRefund, ShopifyReturn

SHOPIFY_ORDER_TOPICS = {"orders/create", "orders/paid", "orders/updated", "orders/cancelled"}
SHOPIFY_COMPLIANCE_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}
# aftersales signals: a return the buyer asked for, a refund made in the admin
SHOPIFY_AFTERSALES_TOPICS = {"returns/request", "refunds/create"}
SHOPIFY_TOPICS = SHOPIFY_ORDER_TOPICS | SHOPIFY_COMPLIANCE_TOPICS | SHOPIFY_AFTERSALES_TOPICS
WOO_ORDER_TOPICS = {"order.created", "order.updated", "order.restored"}
WOO_TOPICS = WOO_ORDER_TOPICS | {"order.deleted"}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", str_max_length=TEXT_MAX)


class ComplianceCustomer(_Loose):
    id: StoreId | None = None
    email: str | None = None
    phone: str | None = None


class CustomersRedact(_Loose):
    shop_domain: str
    customer: ComplianceCustomer
    orders_to_redact: list[StoreId] = []


class CustomersDataRequest(_Loose):
    shop_domain: str
    customer: ComplianceCustomer
    orders_requested: list[StoreId] = []


class ShopRedact(_Loose):
    shop_domain: str


class WooDeleted(_Loose):
    id: StoreId


COMPLIANCE_MODELS: dict[str, type[_Loose]] = {
    "customers/redact": CustomersRedact,
    "customers/data_request": CustomersDataRequest,
    "shop/redact": ShopRedact,
}
AFTERSALES_MODELS: dict[str, type[BaseModel]] = {
    "returns/request": ShopifyReturn,
    "refunds/create": ShopifyRefund,
}


def validate_body(platform: str, topic: str, body: bytes) -> BaseModel:
    """Raises InvalidPayload; the processor parses the same body again after commit, with
    the same parser (orjson: a number past 64 bits, a nesting past 1024 levels, invalid
    UTF-8 are ``invalid_json`` here as there) and the same bounds, so that what is
    accepted here can be processed."""
    data = load_json(body)
    if platform == "shopify":
        if topic in SHOPIFY_ORDER_TOPICS:
            order = validate_payload(shopify.ShopifyOrder, data)
            ensure_fits(shopify.to_canonical(order))
            return order
        if topic in SHOPIFY_AFTERSALES_TOPICS:
            return validate_payload(AFTERSALES_MODELS[topic], data)
        return validate_payload(COMPLIANCE_MODELS[topic], data)
    if topic == "order.deleted":
        return validate_payload(WooDeleted, data)
    woo = validate_payload(woocommerce.WooOrder, data)
    ensure_fits(woocommerce.to_canonical(woo))
    return woo


def shape_problem(platform: str, topic: str, parsed: BaseModel) -> str | None:
    """Why a valid body cannot be what its topic says, or None. The topic header is not
    signed: a signed body of another topic resent under a destructive one must not
    destroy. WooCommerce's ``order.deleted`` carries the order's id and nothing else
    (``WC_Webhook::build_payload``); Shopify's ``orders/cancelled`` is the order with
    ``cancelled_at`` set."""
    if platform == "woocommerce" and topic == "order.deleted" and parsed.model_extra:
        return "an order.deleted body carries only the order's id"
    if (
        platform == "shopify"
        and topic == "orders/cancelled"
        and isinstance(parsed, shopify.ShopifyOrder)
        and parsed.cancelled_at is None
    ):
        return "an orders/cancelled body has cancelled_at set"
    return None
