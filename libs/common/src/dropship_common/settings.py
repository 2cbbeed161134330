"""Settings shared by every service, read from the environment (prefix ``DROPSHIP_``).

Embedded mode runs everything in one process on SQLite files and the embedded bus and
may use development defaults. Distributed mode refuses them: a production deployment
that forgot to set a secret must not start.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dropship_common.egress import EgressRules, url_problem

# Shopify releases an Admin API version each quarter (YYYY-01, -04, -07, -10) and supports
# each for at least 12 months: https://shopify.dev/docs/api/usage/versioning
SHOPIFY_API_VERSION = "2026-10"
_SHOPIFY_VERSION_RE = re.compile(r"^\d{4}-(01|04|07|10)$")

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - the default that is refused
MIN_SECRET_KEY_LENGTH = 32

ServiceName = Literal["order-intake", "supplier-gateway", "logistics", "aftersales"]
SERVICE_NAMES: tuple[ServiceName, ...] = (
    "order-intake",
    "supplier-gateway",
    "logistics",
    "aftersales",
)
DEFAULT_PORTS: dict[str, int] = {
    "order-intake": 8001,
    "supplier-gateway": 8002,
    "logistics": 8003,
    "aftersales": 8004,
}


def env_name(service: str) -> str:
    """``order-intake`` -> ``ORDER_INTAKE`` (for per-service variables)."""
    return service.upper().replace("-", "_")


def db_name(service: str) -> str:
    """``order-intake`` -> ``order_intake`` (SQLite file / PostgreSQL database name)."""
    return service.replace("-", "_")


class Settings(BaseSettings):
    """One service's settings. Per-service variables win over the shared ones.

    ``DROPSHIP_DATABASE_URL`` is what a single-service process (compose) sets; the
    embedded runner and the CLI derive one URL per service from ``DROPSHIP_DATA_DIR``
    or ``DROPSHIP_<SERVICE>_DATABASE_URL``.
    """

    model_config = SettingsConfigDict(env_prefix="DROPSHIP_", extra="ignore")

    mode: Literal["embedded", "distributed"] = "embedded"
    service: str = "order-intake"
    # all: HTTP + background work; api: HTTP only; worker: background work (consumers,
    # outbox relay, processors) with only the health endpoints in use
    role: Literal["all", "api", "worker"] = "all"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    bus_url: str = "embedded://"
    exchange: str = "dropship.events"
    queue_prefix: str = ""
    host: str = "127.0.0.1"
    port: int | None = None
    # encrypts the secrets at rest (webhook secrets, storefront and supplier
    # credentials, vendor tokens); unset in embedded mode: a key generated into the
    # data dir. Previous keys only decrypt (a rotation: see docs/design.md).
    secret_key: str = DEV_SECRET
    previous_secret_keys: list[str] = Field(default_factory=list)
    admin_token: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 1024 * 1024
    # outbound calls: host names, *.suffix, addresses or networks we may call although
    # they are local (development and tests only; see dropship_common.egress)
    outbound_allow: str = ""
    # messaging
    retry_delays_ms: list[int] = Field(default_factory=lambda: [1_000, 10_000, 60_000, 600_000])
    delivery_limit: int = 20
    prefetch: int = 32
    outbox_poll_seconds: float = 1.0
    # buyer messages
    smtp_url: str | None = None
    mail_from: str = "orders@example.com"
    public_base_url: str = "http://127.0.0.1:8001"
    # supplier-gateway: placing orders with suppliers through their adapters
    cj_base_url: str = "https://developers.cjdropshipping.com"
    supplier_portal_url: str | None = None  # public URL of the portal (e-mailed links)
    # supplier portal sessions: ended after this long unused, and this long after sign-in
    portal_session_idle_seconds: float = Field(default=1800.0, gt=0)
    portal_session_max_seconds: float = Field(default=43200.0, gt=0)
    # failed portal sign-ins allowed per client IP and per key id in a sliding window
    portal_login_max_failures: int = Field(default=10, ge=1)
    portal_login_window_seconds: float = Field(default=900.0, gt=0)
    placement_poll_seconds: float = 5.0
    placement_batch_size: int = 20
    placement_lease_seconds: float = 120.0  # a claimed order is retried after this
    placement_retry_base_seconds: float = 5.0
    placement_retry_cap_seconds: float = 600.0
    # lookups in a row that settle nothing (after a call whose outcome is unknown) before
    # a supplier order becomes needs_attention for an operator
    placement_max_unsettled_lookups: int = Field(default=3, ge=1)
    supplier_timeout_seconds: float = 15.0
    supplier_breaker_threshold: int = 5
    supplier_breaker_cooldown_seconds: float = 30.0
    supplier_sync_seconds: float = 3600.0  # open orders looked up (a webhook may be lost)
    # CJ webhook messages for an order not known (yet): tried again with backoff, parked
    # for an operator when still unmatched after cj_message_match_seconds
    cj_message_retry_base_seconds: float = 30.0
    cj_message_retry_cap_seconds: float = 1800.0
    cj_message_match_seconds: float = 86400.0
    # order-intake: storefront reconciliation and webhook subscriptions (shops with
    # admin credentials). Our public base URL for the storefronts' webhook
    # subscriptions (https://host): unset, missing subscriptions are reported, never
    # created with a guessed address.
    webhook_base_url: str | None = None
    storefront_sync_seconds: float = 900.0  # orders changed at the storefront asked for
    storefront_sync_overlap_seconds: float = 600.0  # each run looks back this much more
    webhook_check_seconds: float = 86400.0  # subscriptions checked (and repaired) daily
    # order-intake: the Shopify Admin API version asked for (a stable one, YYYY-MM)
    shopify_api_version: str = SHOPIFY_API_VERSION

    @field_validator("shopify_api_version")
    @classmethod
    def _stable_shopify_version(cls, value: str) -> str:
        if not _SHOPIFY_VERSION_RE.match(value):
            raise ValueError(
                "DROPSHIP_SHOPIFY_API_VERSION must be a stable Shopify API version: "
                "YYYY-01, YYYY-04, YYYY-07 or YYYY-10"
            )
        return value

    @field_validator("outbound_allow")
    @classmethod
    def _allowlist(cls, value: str) -> str:
        EgressRules.parse(value)  # raises on an entry that is no host, address or network
        return value

    @model_validator(mode="after")
    def _vendor_urls_we_may_call(self) -> Settings:
        problem = url_problem(self.cj_base_url, EgressRules.from_settings(self))
        if problem:
            raise ValueError(f"DROPSHIP_CJ_BASE_URL: {problem}")
        return self

    @model_validator(mode="after")
    def _refuse_defaults_outside_embedded(self) -> Settings:
        if self.mode == "distributed":
            if self.secret_key == DEV_SECRET:
                raise ValueError("DROPSHIP_SECRET_KEY must be set in distributed mode")
            if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    f"DROPSHIP_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
                )
            if self.bus_url.startswith("embedded"):
                raise ValueError("distributed mode needs DROPSHIP_BUS_URL=amqp://…")
            if self.admin_token is not None and len(self.admin_token) < 24:
                raise ValueError("DROPSHIP_ADMIN_TOKEN must be at least 24 characters")
        return self

    def for_service(self, service: str) -> Settings:
        """A copy for ``service`` with its database URL and port resolved."""
        import os

        prefix = f"DROPSHIP_{env_name(service)}_"
        url = os.environ.get(prefix + "DATABASE_URL") or (
            self.database_url if self.mode == "distributed" else None
        )
        if url is None and self.mode == "distributed":
            raise ValueError(
                f"distributed mode needs DROPSHIP_DATABASE_URL or {prefix}DATABASE_URL"
            )
        if url is None:
            url = f"sqlite+aiosqlite:///{(self.data_dir / (db_name(service) + '.db')).resolve()}"
        port = int(os.environ.get(prefix + "PORT", 0)) or self.port or DEFAULT_PORTS[service]
        return self.model_copy(update={"service": service, "database_url": url, "port": port})

    @property
    def embedded_bus_path(self) -> Path:
        """Where the embedded bus keeps its messages (``embedded:///path`` or the data dir)."""
        rest = self.bus_url.removeprefix("embedded://")
        return Path(rest) if rest else self.data_dir / "bus.db"

    @property
    def db_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError("settings not resolved for a service: call for_service()")
        return self.database_url
