"""Server-side portal sessions. Signing in exchanges the supplier key for a random
session id (the cookie); the database keeps only its SHA-256. A session ends when it is
unused for ``portal_session_idle_seconds``, ``portal_session_max_seconds`` after sign-in,
at sign-out, and at once when the key it came from is revoked or the supplier is
deactivated (both checked on every request). Its CSRF token is an HMAC of its id."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

import sqlalchemy as sa

from dropship_common.auth import live
from dropship_common.db import utcnow
from dropship_common.runtime import ServiceRuntime
from dropship_common.security import Role, hash_api_key
from supplier_gateway.config import config_of
from supplier_gateway.models import PortalSession, Supplier


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(rt: ServiceRuntime, session_id: str) -> str:
    """The token every form of this session carries (bound to the session id)."""
    mac = hmac.new(
        config_of(rt).secret_key.encode(), b"portal-csrf:" + session_id.encode(), "sha256"
    )
    return mac.hexdigest()


def csrf_ok(rt: ServiceRuntime, session_id: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(rt, session_id).encode(), given.encode())


async def supplier_for_key(rt: ServiceRuntime, key: str) -> tuple[Supplier, str] | None:
    """The active supplier a (not revoked) supplier key belongs to, with the key's id."""
    if not key:
        return None
    t = rt.tables.api_keys
    async with rt.db.sessions() as session:
        row = (
            await session.execute(
                sa.select(t.c.id, t.c.subject).where(
                    t.c.key_hash == hash_api_key(key),
                    t.c.role == Role.SUPPLIER.value,
                    live(t, utcnow()),  # not revoked, not past a replaced key's grace
                )
            )
        ).first()
        if row is None or row.subject is None:
            return None
        try:
            supplier = await session.get(Supplier, uuid.UUID(row.subject))
        except ValueError:
            return None
        if supplier is None or not supplier.active:
            return None
        return supplier, str(row.id)


async def start(rt: ServiceRuntime, supplier: Supplier, key_id: str) -> str:
    """A new session for ``supplier``; returns its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    async with rt.db.transaction() as session:
        await session.execute(  # this supplier's ended sessions are no longer needed
            sa.delete(PortalSession).where(
                PortalSession.supplier_id == supplier.id, PortalSession.expires_at <= now
            )
        )
        session.add(
            PortalSession(
                id_hash=_hash(session_id),
                supplier_id=supplier.id,
                key_id=key_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + dt.timedelta(seconds=config_of(rt).portal_session_max_seconds),
            )
        )
    return session_id


async def current(rt: ServiceRuntime, session_id: str) -> Supplier | None:
    """The supplier of a live session (and the session marked as seen now), or None."""
    if not session_id:
        return None
    now = utcnow()
    idle = dt.timedelta(seconds=config_of(rt).portal_session_idle_seconds)
    keys = rt.tables.api_keys
    async with rt.db.transaction() as session:
        found = (
            await session.execute(
                sa.select(PortalSession, Supplier)
                .join(Supplier, Supplier.id == PortalSession.supplier_id)
                .join(keys, keys.c.id == PortalSession.key_id)
                .where(
                    PortalSession.id_hash == _hash(session_id),
                    PortalSession.revoked_at.is_(None),
                    PortalSession.expires_at > now,
                    PortalSession.last_seen_at > now - idle,
                    live(keys, now),  # the key still works (revoked or past its grace: no)
                    Supplier.active.is_(True),
                )
            )
        ).first()
        if found is None:
            return None
        portal_session, supplier = found
        portal_session.last_seen_at = now
        return supplier


async def end(rt: ServiceRuntime, session_id: str) -> None:
    """Sign-out: the session is revoked (kept for the record, never usable again)."""
    if not session_id:
        return
    async with rt.db.transaction() as session:
        await session.execute(
            sa.update(PortalSession)
            .where(PortalSession.id_hash == _hash(session_id), PortalSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
