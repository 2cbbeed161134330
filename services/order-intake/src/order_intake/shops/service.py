"""Shops: a deployment serves many storefronts."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.egress import DestinationRefused, EgressRules, check_destination
from dropship_common.errors import DestinationNotAllowed, ValidationFailed
from order_intake.errors import ShopExists, ShopNotFound
from order_intake.models import Shop, ShopSync
from order_intake.shops.repository import ShopRepository
from order_intake.shops.schemas import (
    ReconciliationOut,
    ShopCreate,
    ShopOut,
    ShopUpdate,
    WebhookHealthOut,
    reminders_problem,
)
from order_intake.storefront_sync.repository import SyncRepository


async def check_storefront_destination(data: ShopCreate, rules: EgressRules) -> None:
    """The shop's domain is one we may call (the outbound rules: not inside our network;
    a name that does not resolve yet is left to the check at connect time)."""
    try:
        await check_destination(f"https://{data.domain}", rules)
    except DestinationRefused as exc:
        raise DestinationNotAllowed(f"the shop's domain is not one we call: {exc}") from exc


async def create_shop(session: AsyncSession, data: ShopCreate) -> Shop:
    """Call :func:`check_storefront_destination` first (it resolves a name: outside the
    transaction)."""
    repo = ShopRepository(session)
    if await repo.by_domain(data.platform, data.domain) is not None:
        raise ShopExists(f"a {data.platform} shop with domain {data.domain} exists")
    shop = Shop(
        id=uuid.uuid4(),
        platform=data.platform,
        domain=data.domain,
        name=data.name,
        webhook_secrets=[data.webhook_secret],
        admin_credentials=data.admin_credentials,
        payment_window_days=data.payment_window_days,
        payment_reminder_days=sorted(set(data.payment_reminder_days)),
        accept_authorized=data.accept_authorized,
        buyer_language=data.buyer_language,
        handling_days=data.handling_days,
        ship_from_country=data.ship_from_country,
        active=True,
    )
    repo.add(shop)
    await session.flush()
    await SyncRepository(session).ensure(shop)
    return shop


async def get_shop(session: AsyncSession, shop_id: uuid.UUID) -> Shop:
    shop = await ShopRepository(session).get(shop_id)
    if shop is None:
        raise ShopNotFound(f"no shop {shop_id}")
    return shop


async def update_shop(session: AsyncSession, shop_id: uuid.UUID, data: ShopUpdate) -> Shop:
    shop = await get_shop(session, shop_id)
    changes = data.model_dump(exclude_unset=True)
    secret = changes.pop("webhook_secret", None)
    if secret is not None and secret != shop.webhook_secrets[0]:
        shop.webhook_secrets = [secret, shop.webhook_secrets[0]]
    if "payment_reminder_days" in changes and changes["payment_reminder_days"] is not None:
        changes["payment_reminder_days"] = sorted(set(changes["payment_reminder_days"]))
    # the reminders and the window as they will be, one of them maybe as stored
    reminders = changes.get("payment_reminder_days")
    window = changes.get("payment_window_days")
    problem = reminders_problem(
        shop.payment_reminder_days if reminders is None else reminders,
        shop.payment_window_days if window is None else window,
    )
    if problem:
        raise ValidationFailed(
            problem,
            [{"loc": ["body", "payment_reminder_days"], "msg": problem, "type": "value_error"}],
        )
    for key, value in changes.items():
        if value is not None:
            setattr(shop, key, value)
    await session.flush()
    # new credentials: reconcile and check the webhooks at the worker's next pass
    await SyncRepository(session).ensure(shop, check_now="admin_credentials" in changes)
    return shop


def shop_out(shop: Shop, public_base_url: str, sync: ShopSync | None = None) -> ShopOut:
    base = public_base_url.rstrip("/")
    url = (
        f"{base}/webhooks/shopify"
        if shop.platform == "shopify"
        else f"{base}/webhooks/woocommerce/{shop.id}"
        if shop.platform == "woocommerce"
        else f"{base}/v1/orders"
    )
    return ShopOut(
        id=shop.id,
        platform=shop.platform,
        domain=shop.domain,
        name=shop.name,
        webhook_secrets_count=len(shop.webhook_secrets),
        has_admin_credentials=bool(shop.admin_credentials),
        payment_window_days=shop.payment_window_days,
        payment_reminder_days=shop.payment_reminder_days,
        accept_authorized=shop.accept_authorized,
        buyer_language=shop.buyer_language,
        handling_days=shop.handling_days,
        ship_from_country=shop.ship_from_country,
        active=shop.active,
        webhook_url=url,
        webhook_health=None
        if sync is None
        else WebhookHealthOut(
            status=sync.webhooks_status,
            problems=sync.webhooks_problems,
            checked_at=sync.webhooks_checked_at,
            next_check_at=sync.next_webhook_check_at,
        ),
        reconciliation=None
        if sync is None
        else ReconciliationOut(
            orders_synced_until=sync.orders_synced_until,
            last_sync_at=sync.last_sync_at,
            last_sync_error=sync.last_sync_error,
            orders_recovered=sync.orders_recovered,
        ),
        created_at=shop.created_at,
    )
