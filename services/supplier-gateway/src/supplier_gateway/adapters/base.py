"""What every supplier adapter does: place, look up (by our own number), cancel.

The worker calls adapters with no database transaction open. Outcomes are values
(:class:`Placed`, :class:`Refused`, :class:`Lookup`); "try again later" is an
exception: :class:`SupplierUnavailable` when nothing reached the supplier (or it
refused to take the call: rate limit, busy), and
:class:`dropship_common.http.OutcomeUnknown` / :class:`PlacementUnknown` when the order
may have been created: the caller looks it up before sending it again.

**Lookups** answer by our own number. :data:`NOT_FOUND` means *sure*: the supplier said
it has no such order in every way it documents (an adapter may confirm a "not found"
with a second query, e.g. CJ's order list), so the order may be placed (again). Anything
less is raised: :class:`SupplierUnavailable` when the lookup was refused or never got
through (it counts for nothing), any other error when it got an answer that settles
nothing. The placement worker counts the latter for every adapter alike and hands the
order to an operator (``needs_attention``) after a few in a row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from dropship_common.http import RateLimiter
from supplier_gateway.config import SupplierGatewaySettings


@dataclass(frozen=True)
class PlacementRequest:
    supplier_order_id: uuid.UUID
    notice: dict[str, Any]
    ship_from_country: str

    @property
    def our_number(self) -> str:
        """Our supplier-order id: the number the supplier knows the order by."""
        return str(self.supplier_order_id)


@dataclass(frozen=True)
class Placed:
    supplier_ref: str | None  # the supplier's own id of the order, when it gives one


@dataclass(frozen=True)
class Refused:
    """The supplier will not take the order as sent (unknown product, bad address, …):
    not retried; parked for an operator."""

    reason: str


PlaceResult = Placed | Refused


@dataclass(frozen=True)
class Lookup:
    found: bool
    supplier_ref: str | None = None
    status: str | None = None  # as the supplier names it
    carrier: str | None = None
    tracking_numbers: list[str] = field(default_factory=list)
    shipped: bool = False  # the supplier says the parcel left (with tracking_numbers)
    tracking_urls: dict[str, str] = field(default_factory=dict)  # number -> its page


NOT_FOUND = Lookup(found=False)  # sure: the supplier has no such order


class SupplierUnavailable(Exception):
    """Not placed, for certain: try again after ``retry_after`` seconds (None: the
    caller's backoff)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class SupplierError(Exception):
    """The supplier answered with an error that is neither a refusal of the order nor
    "later" (tried again with backoff)."""


class SupplierMisconfigured(SupplierError):
    """Our credentials for the supplier are refused (a wrong API key, …): nothing can go
    out until an operator fixes them; orders are parked."""


class PlacementUnknown(Exception):
    """The supplier may have created the order (a 5xx after the request was sent, an
    error naming the order number as taken, …): look it up before sending again."""


class NoticeRefused(Exception):
    """The supplier refused a case notice as sent: not retried (an operator tells it)."""


@runtime_checkable
class NoticeChannel(Protocol):
    """An adapter that can tell its supplier how an aftersales case was settled (our
    http protocol; CJ's API has no such call)."""

    async def notify(self, key: str, payload: dict[str, Any]) -> None: ...


class SupplierAdapter(Protocol):
    kind: str

    async def place(self, request: PlacementRequest) -> PlaceResult: ...

    async def lookup(self, our_number: str) -> Lookup:
        """The order at the supplier; :data:`NOT_FOUND` only when sure it has none."""
        ...

    async def cancel(self, our_number: str, supplier_ref: str | None) -> bool:
        """True when the supplier cancelled it; False when it is too late."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SavedToken:
    """An access token kept across restarts (CJ allows a new one only every 5 minutes)."""

    access_token: str | None
    access_expires: dt.datetime | None
    refresh_token: str | None
    refresh_expires: dt.datetime | None
    open_id: str | None
    issued_at: dt.datetime | None  # the last getAccessToken CJ counted
    account: str | None = None  # a fingerprint of the API key it was issued for


class TokenStore(Protocol):
    async def load(self) -> SavedToken | None: ...

    async def save(self, token: SavedToken) -> None: ...


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter is made with besides the supplier's credentials."""

    settings: SupplierGatewaySettings
    supplier_id: uuid.UUID
    transport: httpx.AsyncBaseTransport | None = None  # tests: an in-process fake
    token_store: TokenStore | None = None
    # calls per second -> the account's limiter shared by every process (None: each
    # client keeps its own token bucket)
    rate_limiter: Callable[[float], RateLimiter] | None = None
