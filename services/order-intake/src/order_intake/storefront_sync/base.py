"""What a storefront's admin API gives the reconciliation: the orders changed since a
time, in the body its webhooks carry, and the state of its webhook subscriptions."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import httpx

from order_intake.config import OrderIntakeSettings
from order_intake.fulfilment.base import ShopAccess

# unmanaged: the merchant keeps the subscriptions elsewhere (``manage_webhooks: false``)
WebhooksStatus = Literal["unchecked", "ok", "repaired", "broken", "unmanaged"]


@dataclass(frozen=True)
class FetchedOrder:
    """One order version as the storefront's API listed it. ``body`` is shaped like the
    body of the webhook ``topic``, so that it goes through the webhook intake unchanged;
    None when the listing gives only the id and version (:meth:`StorefrontApi.complete`
    reads the body of the versions we lack)."""

    external_id: str
    updated_at: dt.datetime  # UTC
    topic: str
    body: bytes | None = None


@dataclass(frozen=True)
class WebhookTarget:
    """Where the shop's subscriptions must deliver. ``callback_url`` is None when our
    public base URL is not configured: missing subscriptions are then reported, not
    created. ``path`` identifies a subscription as ours whatever host it names."""

    callback_url: str | None
    path: str
    secret: str


@dataclass
class WebhookHealth:
    status: WebhooksStatus
    problems: list[str] = field(default_factory=list)  # what is still wrong
    repairs: list[str] = field(default_factory=list)  # what this check fixed


class StorefrontApi(abc.ABC):
    """One platform's admin API for one shop; ``client`` may call only the shop."""

    platform: ClassVar[str]

    def __init__(
        self, client: httpx.AsyncClient, shop: ShopAccess, settings: OrderIntakeSettings
    ) -> None:
        self.client = client
        self.shop = shop
        self.settings = settings

    @abc.abstractmethod
    def changed_orders(self, since: dt.datetime) -> AsyncIterator[list[FetchedOrder]]:
        """Orders created or updated after ``since``, a page at a time."""

    @abc.abstractmethod
    async def current_order(self, external_id: str) -> bytes | None:
        """The order as the storefront holds it now, shaped as the body of its order
        update webhook; None when the storefront has no such order (deleted). Raises
        StorefrontUnavailable (ask again later) or StorefrontRejected."""

    async def complete(self, orders: list[FetchedOrder]) -> list[FetchedOrder]:
        """The same orders with their bodies (read only for the versions we lack)."""
        return orders

    @abc.abstractmethod
    async def check_webhooks(self, target: WebhookTarget) -> WebhookHealth:
        """Find our subscriptions, re-enable or re-create what is missing or disabled."""


def summarise(problems: list[str], repairs: list[str]) -> WebhookHealth:
    if problems:
        return WebhookHealth("broken", problems, repairs)
    return WebhookHealth("repaired" if repairs else "ok", [], repairs)
