"""Suppliers: who ships, how we reach them, how long they take."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dropship_common.auth import retire_keys
from dropship_common.db import utcnow
from dropship_common.egress import DestinationRefused, EgressRules, check_destination
from dropship_common.errors import DestinationNotAllowed, ValidationFailed
from dropship_common.security import Role
from supplier_gateway.adapters.http_supplier import KIND as HTTP_KIND
from supplier_gateway.adapters.registry import OUTSIDE_KINDS, credential_problems
from supplier_gateway.errors import SupplierExists, SupplierNotFound
from supplier_gateway.models import Supplier, common
from supplier_gateway.placement.repository import PlacementRepository
from supplier_gateway.supplier_orders.service import PLACE_FLAG
from supplier_gateway.suppliers.repository import SupplierRepository
from supplier_gateway.suppliers.schemas import SupplierCreate, SupplierOut, SupplierUpdate


async def check_supplier_destination(
    adapter: str, credentials: dict[str, Any] | None, rules: EgressRules
) -> None:
    """An http-protocol supplier's URL must be one we may call (the outbound rules; a
    name that does not resolve yet is left to the check at connect time). Made before
    the transaction: it resolves the name."""
    url = (credentials or {}).get("url")
    if adapter != HTTP_KIND or not isinstance(url, str):
        return
    try:
        await check_destination(url, rules)
    except DestinationRefused as exc:
        raise DestinationNotAllowed(f"the supplier's url is not one we call: {exc}") from exc


async def create_supplier(session: AsyncSession, data: SupplierCreate) -> Supplier:
    repo = SupplierRepository(session)
    if await repo.by_name(data.name) is not None:
        raise SupplierExists(f"a supplier named {data.name!r} exists")
    _check_credentials(data.adapter, data.credentials)
    supplier = Supplier(id=uuid.uuid4(), active=True, **data.model_dump())
    repo.add(supplier)
    await session.flush()
    return supplier


async def get_supplier(session: AsyncSession, supplier_id: uuid.UUID) -> Supplier:
    supplier = await SupplierRepository(session).get(supplier_id)
    if supplier is None:
        raise SupplierNotFound(f"no supplier {supplier_id}")
    return supplier


async def update_supplier(
    session: AsyncSession, supplier_id: uuid.UUID, data: SupplierUpdate
) -> Supplier:
    supplier = await get_supplier(session, supplier_id)
    changes = data.model_dump(exclude_unset=True)
    renamed = changes.get("name") not in (None, supplier.name)
    if renamed and await SupplierRepository(session).by_name(changes["name"]) is not None:
        raise SupplierExists(f"a supplier named {changes['name']!r} exists")
    if changes.get("credentials"):
        _check_credentials(supplier.adapter, changes["credentials"])
    for key, value in changes.items():
        if value is not None or key in ("credentials", "contact_email"):
            setattr(supplier, key, value)
    await session.flush()
    if changes.get("active") is False:
        # a deactivated supplier's portal keys (and so its sessions) stop at once
        await retire_keys(session, common.api_keys, role=Role.SUPPLIER, subject=str(supplier.id))
    # orders parked for want of working credentials go out with the new ones
    if (
        changes.get("credentials")
        and supplier.adapter in OUTSIDE_KINDS
        and await PlacementRepository(session).make_parked_due(supplier.id, utcnow())
    ):
        session.info[PLACE_FLAG] = True
    return supplier


def supplier_out(supplier: Supplier) -> SupplierOut:
    return SupplierOut(
        id=supplier.id,
        name=supplier.name,
        adapter=supplier.adapter,
        has_credentials=bool(supplier.credentials),
        handling_days=supplier.handling_days,
        holiday_country=supplier.holiday_country,
        ship_from_country=supplier.ship_from_country,
        contact_email=supplier.contact_email,
        active=supplier.active,
        created_at=supplier.created_at,
    )


def _check_credentials(kind: str, credentials: dict[str, Any] | None) -> None:
    """Credentials given are checked for the adapter; none at all is allowed (its
    orders wait, parked, until they are set)."""
    problems = credential_problems(kind, credentials) if credentials else []
    if problems:
        raise ValidationFailed(f"invalid credentials for a {kind} supplier", problems)
