"""Typed errors of supplier-gateway."""

from __future__ import annotations

from dropship_common.errors import Conflict, NotFound


class SupplierNotFound(NotFound):
    code = "supplier_not_found"


class SupplierExists(Conflict):
    code = "supplier_exists"


class PlacementInFlight(Conflict):
    """A placement call is out: a second one before it answers could place it twice."""

    code = "placement_in_flight"
