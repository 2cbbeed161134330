"""What the CLI does to the databases: same service functions as the API."""

from __future__ import annotations

import os
from typing import Any

from dropship_common.api_keys import list_keys
from dropship_common.auth import create_api_key, revoke_api_key
from dropship_common.db import Database
from dropship_common.egress import EgressRules
from dropship_common.security import Role, generate_api_key
from dropship_common.settings import SERVICE_NAMES, Settings, env_name
from order_intake.config import OrderIntakeSettings
from order_intake.models import common as order_intake_tables
from order_intake.shops.repository import ShopRepository
from order_intake.shops.schemas import ShopCreate
from order_intake.shops.service import check_storefront_destination, create_shop, shop_out
from order_intake.storefront_sync.base import WebhookHealth
from order_intake.storefront_sync.job import ShopSyncer
from order_intake.storefront_sync.repository import SyncRepository


async def add_shop(settings: Settings, data: dict[str, Any]) -> tuple[str, WebhookHealth | None]:
    """The new shop's id and, with admin credentials, the check of its webhook
    subscriptions (made and recorded as the API's ``POST /v1/shops`` does)."""
    resolved = settings.for_service("order-intake").as_config(OrderIntakeSettings)
    shop_data = ShopCreate(**data)
    await check_storefront_destination(shop_data, EgressRules.from_settings(resolved))
    db = Database(resolved.db_url, pool_size=1)
    try:
        async with db.transaction() as session:
            shop = await create_shop(session, shop_data)
        health = await ShopSyncer(db, resolved).check_webhooks(shop.id)
        return str(shop.id), health
    finally:
        await db.dispose()


async def add_supplier(settings: Settings, data: dict[str, Any]) -> str:
    from supplier_gateway.suppliers.schemas import SupplierCreate
    from supplier_gateway.suppliers.service import check_supplier_destination, create_supplier

    resolved = settings.for_service("supplier-gateway")
    supplier_data = SupplierCreate(**data)
    rules = EgressRules.from_settings(resolved)
    await check_supplier_destination(supplier_data.adapter, supplier_data.credentials, rules)
    db = Database(resolved.db_url, pool_size=1)
    try:
        async with db.transaction() as session:
            supplier = await create_supplier(session, supplier_data)
        return str(supplier.id)
    finally:
        await db.dispose()


async def list_shops(settings: Settings) -> list[dict[str, Any]]:
    db = Database(settings.for_service("order-intake").db_url, pool_size=1)
    try:
        async with db.sessions() as session:
            shops = await ShopRepository(session).list()
            syncs = await SyncRepository(session).by_shops([s.id for s in shops])
        return [
            shop_out(
                s, settings.as_config(OrderIntakeSettings).public_base_url, syncs.get(s.id)
            ).model_dump(mode="json")
            for s in shops
        ]
    finally:
        await db.dispose()


def configured_services(settings: Settings) -> list[str]:
    """Embedded: every service (files in the data dir). Distributed: the services whose
    DROPSHIP_<SERVICE>_DATABASE_URL is set, or the one DROPSHIP_DATABASE_URL serves."""
    if settings.mode == "embedded":
        return list(SERVICE_NAMES)
    named: list[str] = [
        s for s in SERVICE_NAMES if os.environ.get(f"DROPSHIP_{env_name(s)}_DATABASE_URL")
    ]
    return named or [settings.service]


async def create_key(
    settings: Settings, role: str, label: str | None, shops: list[str] | None = None
) -> tuple[str, list[str]]:
    """One key, stored hashed in each configured service's own database; ``shops``
    limits an operator key to those shops."""
    key, _hash = generate_api_key()
    services = configured_services(settings)
    for name in services:
        db = Database(settings.for_service(name).db_url, pool_size=1)
        try:
            async with db.transaction() as session:
                await create_api_key(
                    session,
                    order_intake_tables.api_keys,
                    Role(role),
                    label=label,
                    key=key,
                    shops=shops,
                )
        finally:
            await db.dispose()
    return key, services


async def list_api_keys(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Each configured service's keys (no plaintext), by service."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in configured_services(settings):
        db = Database(settings.for_service(name).db_url, pool_size=1)
        try:
            async with db.sessions() as session:
                keys = await list_keys(session, order_intake_tables.api_keys)
            out[name] = [k.model_dump(mode="json") for k in keys]
        finally:
            await db.dispose()
    return out


async def revoke_key(settings: Settings, key_id: str) -> list[str]:
    """Revoke the key in every configured service's database; the services that had it."""
    found: list[str] = []
    for name in configured_services(settings):
        db = Database(settings.for_service(name).db_url, pool_size=1)
        try:
            async with db.transaction() as session:
                if await revoke_api_key(session, order_intake_tables.api_keys, key_id):
                    found.append(name)
        finally:
            await db.dispose()
    return found


async def add_tracking_account(settings: Settings, data: dict[str, Any]) -> str:
    """A tracking provider account in logistics' database (as ``POST
    /v1/tracking-accounts`` makes it); its id."""
    from logistics.accounts.endpoints import AccountIn
    from logistics.accounts.service import create_account

    account = AccountIn(**data)
    db = Database(settings.for_service("logistics").db_url, pool_size=1)
    try:
        async with db.transaction() as session:
            row = await create_account(
                session,
                provider=account.provider,
                label=account.label,
                api_key=account.api_key.get_secret_value(),
                webhook_secret=(
                    account.webhook_secret.get_secret_value() if account.webhook_secret else None
                ),
                shop_id=account.shop_id,
                default=account.default,
            )
        return str(row.id)
    finally:
        await db.dispose()
