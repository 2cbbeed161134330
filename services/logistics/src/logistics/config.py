"""logistics' own settings, on the shared base (``DROPSHIP_`` environment variables)."""

from __future__ import annotations

from pydantic import Field, model_validator

from dropship_common.egress import EgressRules, url_problem
from dropship_common.runtime import ServiceRuntime
from dropship_common.settings import Settings


class LogisticsSettings(Settings):
    seventeen_track_base_url: str = Field(
        default="https://api.17track.net",
        description="17TRACK's Tracking API (point it at a fake for tests)",
    )
    aftership_base_url: str = Field(
        default="https://api.aftership.com",
        description="AfterShip's Tracking API (point it at a fake for tests)",
    )
    tracking_timeout_seconds: float = Field(
        default=15.0, gt=0, description="one call to a tracking provider may take this long"
    )
    tracking_breaker_threshold: int = Field(
        default=5, ge=1, description="consecutive provider failures that open its circuit"
    )
    tracking_breaker_cooldown_seconds: float = Field(
        default=30.0, gt=0, description="how long an open provider circuit stays open"
    )
    poll_interval_seconds: float = Field(
        default=30.0, gt=0, description="how often the poller looks for due parcels"
    )
    tracking_accounts_at_once: int = Field(
        default=8, ge=1, description="provider accounts polled side by side in one round"
    )
    rules_interval_seconds: float = Field(
        default=300.0, gt=0, description="how often the follow-up rules look for due parcels"
    )
    push_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="first wait before a push that failed to apply is retried"
    )

    @model_validator(mode="after")
    def _vendor_urls_we_may_call(self) -> LogisticsSettings:
        rules = EgressRules.from_settings(self)
        for name in ("seventeen_track_base_url", "aftership_base_url"):
            problem = url_problem(getattr(self, name), rules)
            if problem:
                raise ValueError(f"DROPSHIP_{name.upper()}: {problem}")
        return self


def config_of(rt: ServiceRuntime) -> LogisticsSettings:
    """The running service's settings, typed as logistics'."""
    return rt.settings.as_config(LogisticsSettings)
