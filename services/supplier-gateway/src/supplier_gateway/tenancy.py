"""Tenancy: an operator key limited to a set of shops sees nothing of another shop.

Another shop's supplier order or mappings answer 404, as if they did not exist. One
router dependency, :func:`shop_scope`, checks what a path or query names; a shop named
in a body is checked by :func:`require_shop`; lists filter on ``Principal.shop_ids()``.
"""

from __future__ import annotations

import uuid

from fastapi import Request

from dropship_common.auth import Principal
from dropship_common.deps import Operator, Runtime
from dropship_common.errors import NotFound
from supplier_gateway.supplier_orders.repository import SupplierOrderRepository


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value is not None else None
    except ValueError:
        return None  # the route's own validation answers it


def require_shop(principal: Principal, shop_id: uuid.UUID) -> None:
    if not principal.sees_shop(shop_id):
        raise NotFound(f"no shop {shop_id}")


async def shop_scope(request: Request, rt: Runtime, who: Operator) -> None:
    """Router dependency: a ``shop_id`` in the query, or the supplier order in the path,
    must be one of the key's shops' or it is not found."""
    if who.shops is None:
        return
    if (shop_id := _uuid(request.query_params.get("shop_id"))) is not None:
        require_shop(who, shop_id)
    supplier_order_id = _uuid(request.path_params.get("supplier_order_id"))
    if supplier_order_id is None:
        return
    async with rt.db.sessions() as session:
        shop = await SupplierOrderRepository(session).shop_of(supplier_order_id)
    if shop is not None and not who.sees_shop(shop):
        raise NotFound(f"no supplier order {supplier_order_id}")
