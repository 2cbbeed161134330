"""Storefront webhooks. The request only verifies, validates, stores and commits;
the order is processed after commit (:mod:`.processor`), so the answer comes well
within Shopify's 5 s whatever the load, and a crash after the answer loses nothing."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

import orjson
import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from dropship_common.deps import Runtime
from dropship_common.errors import (
    BadRequest,
    InvalidJSON,
    InvalidSignature,
    ServiceUnavailable,
    error_responses,
)
from dropship_common.errors import ValidationFailed as ValidationError_
from dropship_common.security import verify_hmac_base64
from order_intake.models import WebhookDelivery
from order_intake.storefront_sync.feed import PREFIX as RECONCILED_PREFIX
from order_intake.storefronts import InvalidPayload
from order_intake.webhooks.intake import DeliveryWriter, ShopCache, ShopSnapshot
from order_intake.webhooks.refusals import refused
from order_intake.webhooks.topics import SHOPIFY_TOPICS, WOO_TOPICS, shape_problem, validate_body

log = structlog.get_logger(__name__)

router = APIRouter(tags=["webhooks"])

# what an unknown shop's "signature" is checked against: the same work as for a known
# shop, so that neither the answer nor its time tells which shop domains we serve
_NO_SHOP_SECRETS = (secrets.token_urlsafe(32),)

_WOO_PING = re.compile(rb"^webhook_id=\d+$")


class WebhookAccepted(BaseModel):
    status: str  # accepted | duplicate | ignored | ping
    delivery_id: str | None = None


def _answer(status: str, delivery_id: str | None = None) -> Response:
    """The documented ``WebhookAccepted``, encoded directly: on the hot path FastAPI's
    response-model validation and encoding cost more than the answer is worth."""
    return Response(
        orjson.dumps({"status": status, "delivery_id": delivery_id}),
        media_type="application/json",
    )


MAX_DELIVERY_ID: int = WebhookDelivery.__table__.c.delivery_id.type.length  # type: ignore[attr-defined]


def _delivery_id(given: str | None, topic: str, body: bytes) -> str:
    if given and len(given) > MAX_DELIVERY_ID:
        # the header is not signed: a long one must not fail the batch it is written in
        raise BadRequest(f"the webhook id is longer than {MAX_DELIVERY_ID} characters")
    if given and given.startswith(RECONCILED_PREFIX):
        # the ids of versions read from the storefront's API, which are not confirmed
        # again: an unsigned header must not pass for one
        raise BadRequest(f"a webhook id may not start with {RECONCILED_PREFIX!r}")
    return given or "sha256:" + hashlib.sha256(topic.encode() + b"\0" + body).hexdigest()


def _validate(platform: str, topic: str, body: bytes, shop: ShopSnapshot) -> bool:
    """The body is valid for its topic (else a 4xx); False when it is valid but not the
    shape of its topic (a signed body resent under another topic: refused, answered
    200 so that a storefront that did send it does not retry it)."""
    try:
        parsed = validate_body(platform, topic, body)
    except InvalidPayload as exc:
        if exc.kind == "invalid_json":
            raise InvalidJSON(exc.message) from exc
        raise ValidationError_(exc.message, exc.details) from exc
    problem = shape_problem(platform, topic, parsed)
    if problem is not None:
        refused(platform, topic, "shape", problem, shop=str(shop.id))
        return False
    return True


async def _accept(
    rt: Runtime, shop: ShopSnapshot, platform: str, topic: str, delivery: str, body: bytes
) -> Response:
    writer: DeliveryWriter = rt.state["delivery_writer"]
    try:
        stored = await writer.store(platform, shop.id, delivery, topic, body)
    except (OSError, DBAPIError) as exc:
        # nothing was stored: a 503 makes the storefront deliver it again later
        raise ServiceUnavailable("the order store is unavailable; deliver again later") from exc
    return _answer("accepted" if stored else "duplicate", delivery)


def _verified(
    platform: str,
    key: str,
    shop: ShopSnapshot | None,
    body: bytes,
    header: str,
    signature: str | None,
) -> ShopSnapshot:
    """The active shop whose secret signed ``body``; else :class:`InvalidSignature`, the
    same answer (status, code, message) whether the shop is unknown, inactive or the
    signature wrong, after the same HMAC: shop domains cannot be enumerated."""
    known = shop is not None and shop.active
    signed = verify_hmac_base64(body, signature, shop.webhook_secrets if shop else _NO_SHOP_SECRETS)
    if known and signed:
        assert shop is not None
        return shop
    if not known:  # the operator's clue, which the sender does not get
        log.info("webhook_for_unknown_shop", platform=platform, shop=key[:255])
    raise InvalidSignature(f"{header} does not match the body")


async def _shop(rt: Runtime, platform: str, key: str) -> ShopSnapshot | None:
    """The shop, from the cache or the database; the database unreachable is a 503 (the
    storefront delivers again later), never a 500."""
    cache: ShopCache = rt.state["shop_cache"]
    try:
        return await cache.get(platform, key)
    except (OSError, DBAPIError) as exc:
        raise ServiceUnavailable("the shop store is unavailable; deliver again later") from exc


_WEBHOOK_ERRORS = error_responses(
    {
        400: "missing topic or shop headers, or a body that is not JSON"
        " (bad_request, invalid_json, unknown_topic)",
        401: "an unknown shop or a signature that does not match (unknown_shop, invalid_signature)",
    }
)


@router.post("/webhooks/shopify", response_model=WebhookAccepted, responses=_WEBHOOK_ERRORS)
async def shopify_webhook(request: Request, rt: Runtime) -> Response:
    body = await request.body()
    h = request.headers
    topic, domain = h.get("x-shopify-topic"), h.get("x-shopify-shop-domain")
    if not topic or not domain:
        raise BadRequest("X-Shopify-Topic and X-Shopify-Shop-Domain are required")
    shop = _verified(
        "shopify",
        domain,
        await _shop(rt, "shopify", domain),
        body,
        "X-Shopify-Hmac-Sha256",
        h.get("x-shopify-hmac-sha256"),
    )
    if topic not in SHOPIFY_TOPICS:
        return _answer("ignored")
    if not _validate("shopify", topic, body, shop):
        return _answer("ignored")
    delivery = _delivery_id(h.get("x-shopify-webhook-id"), topic, body)
    return await _accept(rt, shop, "shopify", topic, delivery, body)


@router.post(
    "/webhooks/woocommerce/{shop_id}", response_model=WebhookAccepted, responses=_WEBHOOK_ERRORS
)
async def woocommerce_webhook(shop_id: uuid.UUID, request: Request, rt: Runtime) -> Response:
    body = await request.body()
    h = request.headers
    if _WOO_PING.match(body.strip()) and "x-wc-webhook-signature" not in h:
        # WooCommerce's creation ping (form-encoded, unsigned): it only needs a 2xx
        return _answer("ping")
    shop = _verified(
        "woocommerce",
        str(shop_id),
        await _shop(rt, "woocommerce", str(shop_id)),
        body,
        "X-WC-Webhook-Signature",
        h.get("x-wc-webhook-signature"),
    )
    topic = h.get("x-wc-webhook-topic") or ""
    if topic not in WOO_TOPICS:
        if not topic:
            raise BadRequest("X-WC-Webhook-Topic is required")
        return _answer("ignored")
    if not _validate("woocommerce", topic, body, shop):
        return _answer("ignored")
    delivery = _delivery_id(h.get("x-wc-webhook-delivery-id"), topic, body)
    return await _accept(rt, shop, "woocommerce", topic, delivery, body)
