"""Bearer API keys with roles (stored hashed in each service's ``api_keys`` table),
plus the deployment's admin token ``DROPSHIP_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request
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
) -> tuple[str, str]:
    """Store a new key (hashed); returns (key id, plaintext key). ``key`` lets the CLI
    store the same key in every service's database."""
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
        )
    )
    return key_id, plaintext


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
    async with runtime.db.sessions() as session:
        row = (
            await session.execute(
                sa.select(t.c.id, t.c.role, t.c.subject).where(
                    t.c.key_hash == hash_api_key(token), t.c.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        raise Unauthorized("invalid or revoked API key")
    return Principal(row.id, Role(row.role), row.subject)


def require_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not role_allows(principal.role, role):
            raise Forbidden(f"this needs the {role.value} role")
        return principal

    return dependency
