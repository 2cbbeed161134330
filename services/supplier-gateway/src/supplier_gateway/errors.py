"""Typed errors of supplier-gateway."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from dropship_common.errors import Conflict, NotFound


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


class ErrorDetail(BaseModel):
    code: str  # stable: what a client branches on
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


def error_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status with the error body and what it means."""
    return {status: {"model": ErrorOut, "description": text} for status, text in described.items()}
