"""Which supplier ships a line: the shop's mappings for the SKU, those for the
destination country first, then by priority; inactive suppliers are skipped."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    supplier_id: uuid.UUID
    priority: int
    destination_country: str | None
    active: bool = True


def ranked(candidates: Iterable[Candidate], country: str | None) -> list[Candidate]:
    """Suppliers to try for one SKU, best first (the rest are backups)."""
    usable = [
        c
        for c in candidates
        if c.active and (c.destination_country is None or c.destination_country == country)
    ]
    return sorted(
        usable,
        key=lambda c: (c.destination_country is None, c.priority, str(c.supplier_id)),
    )


def choose(
    candidates: Sequence[Candidate], country: str | None, tried: Iterable[uuid.UUID] = ()
) -> Candidate | None:
    """The best supplier not tried yet (one that rejected the order is skipped)."""
    excluded = set(tried)
    return next((c for c in ranked(candidates, country) if c.supplier_id not in excluded), None)
