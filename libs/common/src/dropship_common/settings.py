"""Settings shared by every service, read from the environment (prefix ``DROPSHIP_``).

Embedded mode runs everything in one process on SQLite files and the embedded bus and
may use development defaults. Distributed mode refuses them: a production deployment
that forgot to set a secret must not start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dropship_common.egress import EgressRules

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


ConfigT = TypeVar("ConfigT", bound="Settings")


def env_name(service: str) -> str:
    """``order-intake`` -> ``ORDER_INTAKE`` (for per-service variables)."""
    return service.upper().replace("-", "_")


def db_name(service: str) -> str:
    """``order-intake`` -> ``order_intake`` (SQLite file / PostgreSQL database name)."""
    return service.replace("-", "_")


class Settings(BaseSettings):
    """The settings every service shares (mode, data dir, bus, database, secrets,
    logging, limits). Each service's ``config.py`` extends this class with only its own
    settings; :meth:`as_config` turns a shared instance into a service's.

    ``DROPSHIP_DATABASE_URL`` is what a single-service process (compose) sets; the
    embedded runner and the CLI derive one URL per service from ``DROPSHIP_DATA_DIR``
    or ``DROPSHIP_<SERVICE>_DATABASE_URL``. Every field's description is the README's
    configuration table (``dropship config table``).
    """

    model_config = SettingsConfigDict(env_prefix="DROPSHIP_", extra="ignore")

    mode: Literal["embedded", "distributed"] = Field(
        default="embedded",
        description="`distributed` refuses the development secret and the embedded bus",
    )
    service: str = Field(
        default="order-intake",
        description="the service a one-service process runs (set by `dropship serve`)",
    )
    role: Literal["all", "api", "worker"] = Field(
        default="all",
        description="`all`: HTTP and background work; `api`: HTTP only; `worker`: "
        "background work (consumers, outbox relay, processors) with only the health "
        "endpoints",
    )
    data_dir: Path = Field(
        default=Path("./data"), description="embedded mode: SQLite files, `bus.db`, `mail/`"
    )
    database_url: str | None = Field(
        default=None,
        description="`postgresql+asyncpg://user:pass@host/db` for a one-service process "
        "(embedded: SQLite in the data dir); per service: `DROPSHIP_<SERVICE>_DATABASE_URL`",
    )
    bus_url: str = Field(
        default="embedded://", description="`amqp://user:pass@host:5672/` in distributed mode"
    )
    exchange: str = Field(default="dropship.events", description="the topic exchange")
    queue_prefix: str = Field(
        default="", description="prefix of the services' queue names (tests, shared brokers)"
    )
    host: str = Field(default="127.0.0.1", description="the address to listen on")
    port: int | None = Field(
        default=None,
        description="the port to listen on (by default order-intake 8001, supplier-gateway "
        "8002, logistics 8003, aftersales 8004); per service: `DROPSHIP_<SERVICE>_PORT`",
    )
    secret_key: str = Field(
        default=DEV_SECRET,
        json_schema_extra={"shown_default": "embedded: generated"},
        description="encrypts the secrets at rest (webhook secrets, storefront and "
        "supplier credentials, supplier API tokens); required in distributed mode, at "
        "least 32 characters (`python -c 'import secrets; print(secrets.token_urlsafe(32))'`); "
        "embedded mode without it: a key generated into `<data dir>/secret.key` (mode "
        "0600) on the first run",
    )
    previous_secret_keys: list[str] = Field(
        default_factory=list,
        description="JSON list of earlier secret keys: they still decrypt, never encrypt "
        "(a key rotation)",
    )
    admin_token: str | None = Field(
        default=None, description="optional break-glass admin bearer token"
    )
    log_level: str = Field(default="INFO", description="log level")
    log_json: bool = Field(
        default=True,
        description="JSON logs with correlation id; personal data masked (`138****1234`, "
        "`j***@example.com`)",
    )
    max_body_bytes: int = Field(default=1024 * 1024, description="larger requests get 413")
    outbound_allow: str = Field(
        default="",
        description="development and tests only: host names, `*.suffix`, addresses or "
        "networks (comma-separated) that outbound calls may reach although they are local "
        "(see Security)",
    )
    retry_delays_ms: list[int] = Field(
        default_factory=lambda: [1_000, 10_000, 60_000, 600_000],
        description="consumer retry tiers before a message is dead-lettered",
    )
    delivery_limit: int = Field(
        default=20, description="deliveries of one message before RabbitMQ gives it up"
    )
    prefetch: int = Field(default=32, description="messages a consumer holds at once")
    outbox_poll_seconds: float = Field(
        default=1.0, description="the outbox relay looks this often (besides being woken)"
    )

    @field_validator("outbound_allow")
    @classmethod
    def _allowlist(cls, value: str) -> str:
        EgressRules.parse(value)  # raises on an entry that is no host, address or network
        return value

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

    def as_config(self, config_class: type[ConfigT]) -> ConfigT:
        """These settings as ``config_class`` (a service's own class): the shared values
        carried over as they are, the service's own read from the environment."""
        if isinstance(self, config_class):
            return self
        shared = {name: getattr(self, name) for name in Settings.model_fields}
        return config_class(**shared)

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
