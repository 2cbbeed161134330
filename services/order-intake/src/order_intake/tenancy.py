"""Tenancy: an operator key limited to a set of shops sees nothing of another shop.

Another shop's order, fulfilment, shop or products answer 404, exactly as if they did
not exist (a 403 would confirm they do). Checked in one place per kind of reference:
:func:`path_scope`, a dependency of the routers that name an order, fulfilment or shop
in the path or a ``shop_id`` in the query; :func:`require_shop` for a shop named in a
body; lists filter with :func:`shops_filter`. Admin and unlimited keys see all.
"""

from __future__ import annotations

import uuid

from fastapi import Request

from dropship_common.auth import Principal
from dropship_common.deps import Operator, Runtime
from order_intake.errors import FulfilmentNotFound, OrderNotFound, ShopNotFound
from order_intake.orders.repository import OrderRepository


def shops_filter(principal: Principal) -> frozenset[uuid.UUID] | None:
    """The shops a list may show: None for every shop."""
    return principal.shop_ids()


def require_shop(principal: Principal, shop_id: uuid.UUID) -> None:
    """404 for a shop outside the key's scope."""
    if not principal.sees_shop(shop_id):
        raise ShopNotFound(f"no shop {shop_id}")


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None  # the route's own validation answers it


async def path_scope(request: Request, rt: Runtime, who: Operator) -> None:
    """Router dependency: the order, fulfilment or shop a request names (path, or
    ``shop_id`` in the query) must be one of the key's shops' or it is not found."""
    if who.shops is None:
        return
    params = request.path_params
    named_shop = params.get("shop_id") or request.query_params.get("shop_id")
    if named_shop is not None and (shop_id := _uuid(named_shop)) is not None:
        require_shop(who, shop_id)
    order_id = _uuid(params["order_id"]) if "order_id" in params else None
    fulfilment_id = _uuid(params["fulfilment_id"]) if "fulfilment_id" in params else None
    if order_id is None and fulfilment_id is None:
        return
    async with rt.db.sessions() as session:
        if order_id is not None:
            shop = await OrderRepository(session).shop_of(order_id)
            if shop is not None and not who.sees_shop(shop):
                raise OrderNotFound(f"no order {order_id}")
        if fulfilment_id is not None:
            shop = await OrderRepository(session).shop_of_fulfilment(fulfilment_id)
            if shop is not None and not who.sees_shop(shop):
                raise FulfilmentNotFound(f"no fulfilment {fulfilment_id}")
