"""Typed errors of supplier-gateway."""

from __future__ import annotations

from dropship_common.errors import Conflict, NotFound
from dropship_common.errors import error_responses as error_responses  # the routes' import


class SupplierNotFound(NotFound):
    code = "supplier_not_found"


class SupplierExists(Conflict):
    code = "supplier_exists"


class PlacementInFlight(Conflict):
    """A placement call is out: a second one before it answers could place it twice."""

    code = "placement_in_flight"


class NotAwaitingResolution(Conflict):
    """Only a supplier order in needs_attention is resolved by an operator."""

    code = "not_awaiting_resolution"


class SupplierRefTaken(Conflict):
    """Another supplier order of the same supplier already has this supplier ref."""

    code = "supplier_ref_taken"
