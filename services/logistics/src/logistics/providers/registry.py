"""Which providers exist, and one client per configured account.

A new provider is one module (a :class:`TrackingProvider`) and one line here. Clients
go through ``dropship_common.http`` (allowed host only, timeouts, breaker, backoff);
on PostgreSQL an account's request rate is shared by every replica (``rate_slots``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from dropship_common.egress import EgressRules, guarded_transport
from dropship_common.http import OutboundPolicy, make_client
from dropship_common.rate_slots import DbRateLimiter
from dropship_common.runtime import ServiceRuntime
from logistics.config import LogisticsSettings, config_of
from logistics.models import TrackingAccount
from logistics.providers.base import Account, ProviderUnavailable, TrackingProvider

PROVIDER_NAMES = ("17track", "aftership")


def provider_class(name: str) -> type[TrackingProvider]:
    """The provider module of ``name`` (imported when first used)."""
    if name == "17track":
        from logistics.providers.seventeen_track import SeventeenTrack

        return SeventeenTrack
    if name == "aftership":
        from logistics.providers.aftership import AfterShip

        return AfterShip
    raise KeyError(f"no tracking provider {name!r}")


def base_url(provider: str, settings: LogisticsSettings) -> str:
    return {
        "17track": settings.seventeen_track_base_url,
        "aftership": settings.aftership_base_url,
    }[provider]


def account_of(row: TrackingAccount) -> Account:
    return Account(
        id=str(row.id),
        provider=row.provider,
        api_key=row.api_key,
        webhook_secret=row.webhook_secret,
    )


class ProviderClients:
    """One provider client per account, kept for the service's life (closed at stop)."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self._clients: dict[str, tuple[str, httpx.AsyncClient]] = {}

    def provider(self, row: TrackingAccount) -> TrackingProvider:
        cls = provider_class(row.provider)
        settings = config_of(self.runtime)
        url = base_url(row.provider, settings)
        key = str(row.id)
        cached = self._clients.get(key)
        if cached is None or cached[0] != row.api_key:
            client = self._client(url, cls.requests_per_second, key, settings)
            self._clients[key] = (row.api_key, client)
            cached = self._clients[key]
        return cls(account_of(row), cached[1], url)

    def _client(
        self, url: str, rate: float, key: str, settings: LogisticsSettings
    ) -> httpx.AsyncClient:
        timeout = settings.tracking_timeout_seconds
        policy = OutboundPolicy(
            egress=EgressRules.from_settings(settings),
            allowed_hosts={urlsplit(url).hostname or ""},
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            breaker_threshold=settings.tracking_breaker_threshold,
            breaker_cooldown=settings.tracking_breaker_cooldown_seconds,
            rate_per_second=rate,
            backoff_base=0.2,
            backoff_cap=2.0,
        )
        limiter = None
        if not self.runtime.db.is_sqlite:
            limiter = DbRateLimiter(
                self.runtime.db,
                f"tracking:{key}",
                rate,
                max_wait=20.0,
                on_full=lambda message, wait: ProviderUnavailable(message),
            )
        return make_client(
            policy,
            base_url=url,
            transport=guarded_transport(policy.egress, max_connections=20),
            limiter=limiter,
        )

    async def close(self) -> None:
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def clients_of(runtime: ServiceRuntime) -> ProviderClients:
    found = runtime.state.get("provider_clients")
    if found is None:
        found = runtime.state["provider_clients"] = ProviderClients(runtime)
    assert isinstance(found, ProviderClients)
    return found
