"""SQL of tracking provider accounts."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dropship_common.repository import Repository
from logistics.models import TrackingAccount


class AccountRepository(Repository[TrackingAccount]):
    model = TrackingAccount

    async def default_for(self, shop_id: uuid.UUID | None) -> TrackingAccount | None:
        """The shop's default account, else the deployment's."""
        scopes = [str(shop_id), "*"] if shop_id else ["*"]
        rows = await self.all(
            self.select().where(
                TrackingAccount.scope.in_(scopes),
                TrackingAccount.is_default.is_(True),
                TrackingAccount.active.is_(True),
            )
        )
        rows.sort(key=lambda r: scopes.index(r.scope))
        return rows[0] if rows else None

    async def listing(self) -> list[TrackingAccount]:
        return await self.all(self.select().order_by(TrackingAccount.created_at))

    async def clear_default(self, scope: str) -> None:
        await self.session.execute(
            sa.update(TrackingAccount)
            .where(TrackingAccount.scope == scope, TrackingAccount.is_default.is_(True))
            .values(is_default=False)
        )
