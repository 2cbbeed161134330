"""The one interface every tracking provider (17TRACK, AfterShip, …) implements.

A provider module holds everything vendor-specific: its endpoints, auth header, batch
size, error codes, status names, carrier codes and push signature. The rest of
logistics sees only the types below: registrations go in, :class:`Snapshot` s (a
parcel's whole known state, already mapped to our :class:`ParcelStatus`) come out of
polls and pushes alike.

Errors are typed so the poller can decide without knowing the vendor:
:class:`ProviderUnavailable` (5xx, timeout, circuit open: retry later with backoff),
:class:`RateLimited` (wait ``retry_after``), :class:`QuotaExhausted` (alert; wait, do not
fail the parcel), :class:`AuthRejected` (the account's key is wrong: alert the
operator).
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import httpx

from logistics.domain.status import ParcelStatus


class ProviderError(Exception):
    """A provider call failed; the subclass says what to do about it."""


class ProviderUnavailable(ProviderError):
    """5xx, timeout, connection refused or circuit open: try again later."""


class RateLimited(ProviderError):
    def __init__(self, retry_after: float | None, message: str = "rate limited") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhausted(ProviderError):
    """The account has no quota left for registrations."""


class AuthRejected(ProviderError):
    """The account's API key was refused."""


@dataclass(frozen=True)
class Account:
    """A configured provider account (credentials decrypted)."""

    id: str
    provider: str
    api_key: str
    webhook_secret: str | None = None  # AfterShip's webhook secret; 17TRACK signs with the key


@dataclass(frozen=True)
class Registration:
    number: str
    carrier: str | None  # our carrier code (``logistics.domain.carriers``), None: detect
    destination_country: str | None = None  # ISO 3166-1 alpha-2
    destination_postal_code: str | None = None


@dataclass(frozen=True)
class RegisterOutcome:
    accepted: list[str] = field(default_factory=list)  # newly registered
    already: list[str] = field(default_factory=list)  # registered before: success
    rejected: dict[str, str] = field(default_factory=dict)  # number -> provider's reason


@dataclass(frozen=True)
class Checkpoint:
    occurred_at: dt.datetime  # aware, UTC
    status: ParcelStatus
    provider_status: str  # the provider's own status/sub-status, e.g. "InTransit/PickedUp"
    description: str
    location: str | None = None
    country: str | None = None  # ISO alpha-2 where the provider gives it


@dataclass(frozen=True)
class Snapshot:
    """Everything a provider knows of one number, mapped to our taxonomy."""

    number: str
    carrier: str | None  # our carrier code as the provider detected / was told, if known
    status: ParcelStatus
    provider_status: str
    checkpoints: list[Checkpoint]  # oldest first
    estimated_delivery: dt.date | None = None
    stopped: bool = False  # the provider stopped tracking it (TRACKING_STOPPED, expired)


@dataclass(frozen=True)
class FetchOutcome:
    snapshots: list[Snapshot] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # not registered at the provider


class TrackingProvider(abc.ABC):
    """One provider account's client. ``client`` is made with
    ``dropship_common.http.make_client`` (allow-list, timeouts, breaker, rate limit)."""

    name: ClassVar[str]
    max_batch: ClassVar[int]  # numbers per call (17TRACK: 40)
    requests_per_second: ClassVar[float]  # the account's documented request rate
    has_push: ClassVar[bool] = True

    def __init__(self, account: Account, client: httpx.AsyncClient, base_url: str) -> None:
        self.account = account
        self.client = client
        self.base_url = base_url.rstrip("/")

    @abc.abstractmethod
    async def register(self, items: Sequence[Registration]) -> RegisterOutcome: ...

    @abc.abstractmethod
    async def fetch(self, numbers: Sequence[tuple[str, str | None]]) -> FetchOutcome:
        """Current state of (number, our carrier code or None) pairs."""

    @abc.abstractmethod
    async def change_carrier(self, number: str, old: str | None, new: str) -> None: ...

    @abc.abstractmethod
    async def stop(self, numbers: Sequence[tuple[str, str | None]]) -> None: ...

    @abc.abstractmethod
    async def quota_left(self) -> int | None:
        """Registrations left, or None where the provider has no quota."""

    @classmethod
    @abc.abstractmethod
    def verify_push(cls, account: Account, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a push is the provider's, by its documented signature."""

    @classmethod
    @abc.abstractmethod
    def parse_push(cls, body: bytes) -> list[Snapshot]:
        """The snapshots a (verified) push carries; ValueError if malformed."""
