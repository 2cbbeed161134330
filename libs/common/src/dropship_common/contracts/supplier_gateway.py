"""Events published by supplier-gateway (order-intake listens for hand-off)."""

from __future__ import annotations

import datetime as dt
import uuid

from dropship_common.contracts import Event


class SupplierOrderPlaced(Event):
    """A supplier accepted the order (or part of it): the order is handed off."""

    TYPE = "supplier.order_placed"

    order_id: uuid.UUID
    supplier_order_id: uuid.UUID
    supplier_id: uuid.UUID
    placed_at: dt.datetime
