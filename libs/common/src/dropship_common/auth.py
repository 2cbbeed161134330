"""Bearer API keys with roles (stored hashed in each service's ``api_keys`` table),
plus the deployment's admin token ``DROPSHIP_ADMIN_TOKEN``."""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.db import utcnow
from dropship_common.errors import Forbidden, Unauthorized
from dropship_common.security import Role, generate_api_key, hash_api_key, role_allows
from dropship_common.tables import API_KEY_LABEL_LENGTH


@dataclass(frozen=True)
class Principal:
    key_id: str | None  # None: the admin token
    role: Role
    subject: str | None = None  # e.g. the supplier id of a supplier key
    shops: frozenset[str] | None = None  # an operator key limited to these shops

    def sees_shop(self, shop_id: object) -> bool:
        return self.shops is None or str(shop_id) in self.shops

    def shop_ids(self) -> frozenset[uuid.UUID] | None:
        """The shops a list may show (ids that are no UUID name no shop); None: all."""
        if self.shops is None:
            return None
        ids: set[uuid.UUID] = set()
        for shop in self.shops:
            try:
                ids.add(uuid.UUID(shop))
            except ValueError:
                continue
        return frozenset(ids)

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_id}" if self.key_id else "admin-token"


async def create_api_key(
    session: AsyncSession,
    table: sa.Table,
    role: Role,
    *,
    label: str | None = None,
    subject: str | None = None,
    key: str | None = None,
    shops: Iterable[str] | None = None,
) -> tuple[str, str]:
    """Store a new key (hashed); returns (key id, plaintext key). ``key`` lets the CLI
    store the same key in every service's database; ``shops`` limits an operator key."""
    plaintext = key or generate_api_key()[0]
    key_id = plaintext.split("_")[1] if plaintext.count("_") >= 2 else plaintext[:8]
    await session.execute(
        sa.insert(table).values(
            id=key_id,
            key_hash=hash_api_key(plaintext),
            role=role.value,
            subject=subject,
            # a label is a reminder made from names (e.g. a long supplier name): cut to fit
            label=label[:API_KEY_LABEL_LENGTH] if label is not None else None,
            created_at=utcnow(),
            shops=sorted({str(s) for s in shops}) if shops is not None else None,
        )
    )
    return key_id, plaintext


def live(table: sa.Table, now: dt.datetime) -> sa.ColumnElement[bool]:
    """The keys that still work at ``now``: not revoked, not past a grace period."""
    return sa.and_(
        table.c.revoked_at.is_(None),
        sa.or_(table.c.expires_at.is_(None), table.c.expires_at > now),
    )


async def revoke_api_key(session: AsyncSession, table: sa.Table, key_id: str) -> bool:
    """Revoke a key at once; False when there is no such key. Revoking twice keeps
    the first time."""
    result = await session.execute(
        sa.update(table)
        .where(table.c.id == key_id)
        .values(revoked_at=sa.func.coalesce(table.c.revoked_at, utcnow()))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def retire_keys(
    session: AsyncSession,
    table: sa.Table,
    *,
    role: Role,
    subject: str,
    grace: dt.timedelta = dt.timedelta(0),
) -> None:
    """End the live keys of ``role``/``subject`` (a supplier's portal keys when a new
    one is issued): revoked now, or working until ``now + grace`` then refused."""
    now = utcnow()
    mine = sa.and_(table.c.role == role.value, table.c.subject == subject, live(table, now))
    if grace > dt.timedelta(0):
        # an earlier, shorter grace is kept: a new key never lengthens an old one's life
        ends = now + grace
        await session.execute(
            sa.update(table)
            .where(mine)
            .values(expires_at=sa.func.coalesce(table.c.expires_at, ends))
        )
    else:
        await session.execute(sa.update(table).where(mine).values(revoked_at=now))


LAST_USED_EVERY = dt.timedelta(minutes=1)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer API key is required (Authorization: Bearer <key>)")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    runtime = request.app.state.runtime
    token = _bearer(request)
    admin = runtime.settings.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Principal(None, Role.ADMIN)
    t: sa.Table = runtime.tables.api_keys
    now = utcnow()
    async with runtime.db.sessions() as session:
        row = (
            await session.execute(
                sa.select(t.c.id, t.c.role, t.c.subject, t.c.shops, t.c.last_used_at).where(
                    t.c.key_hash == hash_api_key(token), live(t, now)
                )
            )
        ).first()
        if row is not None and (
            row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY
        ):
            # at most one write a minute per key, not one per request; advisory, so a
            # busy database (SQLite's write lock) does not refuse the request
            try:
                await session.execute(sa.update(t).where(t.c.id == row.id).values(last_used_at=now))
                await session.commit()
            except OperationalError:
                await session.rollback()
    if row is None:
        raise Unauthorized("invalid, revoked or expired API key")
    shops = frozenset(row.shops) if row.shops is not None else None
    return Principal(row.id, Role(row.role), row.subject, shops)


def require_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not role_allows(principal.role, role):
            raise Forbidden(f"this needs the {role.value} role")
        return principal

    return dependency
