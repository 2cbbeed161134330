"""Pure rules for the storefront's aftersales signals (returns asked for, refunds made
in the storefront's admin): no I/O."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

# how aftersales names its case in the refund's note / reason ("… case <uuid>")
_CASE_REF = re.compile(
    r"\bcase\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", re.IGNORECASE
)


def case_named(note: str | None) -> uuid.UUID | None:
    """The aftersales case a refund's note names (``case <uuid>``), or None."""
    found = _CASE_REF.search(note or "")
    return uuid.UUID(found.group(1)) if found else None


@dataclass(frozen=True)
class Transaction:
    kind: str | None
    status: str | None
    amount: Decimal | None
    currency: str | None


def refunded(transactions: Iterable[Transaction]) -> tuple[Decimal, str | None]:
    """The money a refund gave back: its successful ``refund`` transactions (a failed,
    pending or errored one gave nothing back), and their currency."""
    total, currency = Decimal("0"), None
    for t in transactions:
        if (t.kind or "").lower() == "refund" and (t.status or "").lower() == "success":
            total += t.amount or Decimal("0")
            currency = currency or (t.currency.upper() if t.currency else None)
    return total, currency


def return_reason(reasons: Iterable[str | None]) -> str:
    """One reason for the return, as Shopify's ``ReturnReason`` enum value (the webhook
    sends it in lower case): the first line's that has one, else ``UNKNOWN``."""
    for reason in reasons:
        if reason and reason.strip():
            return reason.strip().upper()
    return "UNKNOWN"
