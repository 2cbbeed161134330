"""Typed errors of supplier-gateway."""

from __future__ import annotations

from dropship_common.errors import Conflict, NotFound


class SupplierNotFound(NotFound):
    code = "supplier_not_found"


class SupplierExists(Conflict):
    code = "supplier_exists"
