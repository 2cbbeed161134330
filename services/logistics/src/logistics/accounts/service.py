"""Creating a tracking account (the API and the CLI): the new default of its scope
replaces the old one in the same transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from logistics.accounts.repository import AccountRepository
from logistics.models import TrackingAccount


async def create_account(
    session: AsyncSession,
    *,
    provider: str,
    label: str,
    api_key: str,
    webhook_secret: str | None = None,
    shop_id: uuid.UUID | None = None,
    default: bool = True,
) -> TrackingAccount:
    scope = str(shop_id) if shop_id else "*"
    repo = AccountRepository(session)
    if default:
        await repo.clear_default(scope)
        await session.flush()
    row = TrackingAccount(
        id=uuid.uuid4(),
        provider=provider,
        label=label,
        shop_id=shop_id,
        scope=scope,
        is_default=default,
        api_key=api_key,
        webhook_secret=webhook_secret,
        active=True,
        created_at=utcnow(),
    )
    repo.add(row)
    await session.flush()
    return row
