"""What a storefront plugin gets and answers. Plugins run outside any transaction; the
worker records their outcome afterwards."""

from __future__ import annotations

import abc
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx

from order_intake.config import OrderIntakeSettings

__all__ = [
    "CreditOutcome",
    "CreditRefused",
    "CreditRequest",
    "FulfilmentPlugin",
    "FulfilmentRequest",
    "MilestoneRequest",
    "Outcome",
    "ShipmentLine",
    "ShopAccess",
    "StorefrontRejected",
    "StorefrontUnavailable",
]


@dataclass(frozen=True)
class ShopAccess:
    """The shop as the plugin needs it: calls go only to ``domain``."""

    shop_id: uuid.UUID
    platform: str
    domain: str
    credentials: Mapping[str, Any]


@dataclass(frozen=True)
class ShipmentLine:
    external_id: str | None  # the storefront's line item id
    quantity: int
    title: str


@dataclass(frozen=True)
class FulfilmentRequest:
    fulfilment_id: uuid.UUID
    order_external_id: str
    carrier: str
    tracking_numbers: tuple[str, ...]
    tracking_urls: tuple[str, ...]
    lines: tuple[ShipmentLine, ...]  # the lines these parcels cover
    completes_order: bool  # every line of the order is shipped with this one
    shipped_at: dt.datetime
    # An earlier attempt may have reached the storefront (it failed with an unknown
    # outcome, or the worker died while sending): look before creating anything.
    may_exist: bool


@dataclass(frozen=True)
class Outcome:
    # created: done now; existing: an earlier attempt had done it; nothing_to_do: the
    # storefront had these lines fulfilled already (by hand, another app)
    result: Literal["created", "existing", "nothing_to_do"]
    external_ref: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class MilestoneRequest:
    """A parcel's milestone for the storefront (logistics' status, or ``delayed``)."""

    milestone_id: uuid.UUID
    order_external_id: str
    fulfilment_ref: str | None  # the storefront's fulfilment id(s) (``Fulfilment.external_ref``)
    tracking_number: str
    milestone: str
    happened_at: dt.datetime
    message: str | None
    estimated_delivery: dt.date | None
    completes_delivery: bool  # every parcel of the order is delivered
    may_exist: bool  # an earlier attempt may have reached the storefront: look first


@dataclass(frozen=True)
class CreditRequest:
    """Money back for an aftersales case: a refund of ``amount``, or a single-use
    discount code worth ``amount`` for the order's buyer. ``key`` is the case's: the
    storefront's idempotency key where it has one, the mark we look for where not."""

    credit_id: uuid.UUID
    case_id: uuid.UUID
    key: str
    order_external_id: str
    amount: Decimal
    currency: str
    reason: str
    buyer_email: str | None = None
    buyer_ref: str | None = None  # the storefront's id of the buyer (a customer account)
    code: str | None = None  # a discount's code
    ends_at: dt.datetime | None = None  # a discount's end; a payment link's expiry
    may_exist: bool = False  # an earlier attempt may have reached the storefront
    external_ref: str | None = None  # a payment link made before: is it paid?
    round: int = 0  # tried again after a failure: 1, 2 … (a payment link of its own)

    @property
    def round_mark(self) -> str:
        """The case and round a payment link carries (its attribute / meta value)."""
        return f"{self.case_id}:{self.round}" if self.round else str(self.case_id)


def money_text(amount: Decimal) -> str:
    """An amount as the storefronts' APIs take it: a decimal string in cents (our
    columns keep four places)."""
    return format(amount.quantize(Decimal("0.01")), "f")


@dataclass(frozen=True)
class CreditOutcome:
    """Done at the storefront (``external_ref``: its refund / discount id)."""

    external_ref: str
    refunded_total: Decimal | None = None
    gateway_refunded: bool = True
    existing: bool = False  # an earlier attempt had made it
    url: str | None = None  # a payment link's address, for the buyer
    paid: bool = False  # a payment link the buyer has paid


class CreditRefused(Exception):
    """The storefront will not pay it, for good: ``code`` for aftersales
    (nothing_refundable, over_refundable, currency_mismatch, gateway_declined,
    unknown_order, storefront_error), ``refundable`` when the storefront said."""

    def __init__(self, code: str, message: str, refundable: Decimal | None = None) -> None:
        super().__init__(message)
        self.code, self.refundable = code, refundable


class StorefrontRejected(Exception):
    """The storefront refused the fulfilment (bad credentials, user errors): retrying the
    same request would not help. An operator fixes the cause and retries."""


class StorefrontUnavailable(Exception):
    """Try again later (5xx, 429, throttled, timeout, unknown outcome).
    ``retry_after``: seconds the storefront asked for, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FulfilmentPlugin(abc.ABC):
    """One storefront platform. ``client`` is a resilient client limited to the shop's
    own domain (``https://<domain>``)."""

    platform: ClassVar[str]
    writes_back: ClassVar[bool] = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        shop: ShopAccess,
        *,
        settings: OrderIntakeSettings | None = None,
    ) -> None:
        self.client = client
        self.shop = shop
        self.settings = settings or OrderIntakeSettings()

    @abc.abstractmethod
    async def fulfil(self, request: FulfilmentRequest) -> Outcome:
        """Create the fulfilment at the storefront, never twice: when
        ``request.may_exist``, find an earlier one by its tracking number first."""

    async def milestone(self, request: MilestoneRequest) -> Outcome:
        """Write a parcel's milestone to the storefront, never twice. By default a
        platform hears of none."""
        return Outcome("nothing_to_do", detail=f"{self.platform} takes no milestones")

    async def refund(self, request: CreditRequest) -> CreditOutcome:
        """Refund ``request.amount`` once per case; CreditRefused when it cannot be."""
        raise CreditRefused("storefront_error", f"{self.platform} takes no refunds from us")

    async def discount(self, request: CreditRequest) -> CreditOutcome:
        """Create ``request.code`` once per case; CreditRefused when it cannot be."""
        raise CreditRefused("storefront_error", f"{self.platform} takes no discount codes")

    async def payment_link(self, request: CreditRequest) -> CreditOutcome:
        """A link where the buyer pays ``request.amount``, made once per case (``url``)."""
        raise CreditRefused("storefront_error", f"{self.platform} takes no payment requests")

    async def payment_paid(self, request: CreditRequest) -> CreditOutcome:
        """Whether the link ``request.external_ref`` is paid (``paid``)."""
        raise CreditRefused("storefront_error", f"{self.platform} takes no payment requests")

    def credential(self, name: str) -> str:
        value = self.shop.credentials.get(name)
        if not isinstance(value, str) or not value:
            raise StorefrontRejected(f"the shop's admin credentials have no {name!r}")
        return value
