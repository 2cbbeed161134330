"""supplier-gateway's own settings, on the shared base (``DROPSHIP_`` environment
variables)."""

from __future__ import annotations

from pydantic import Field, model_validator

from dropship_common.egress import EgressRules, url_problem
from dropship_common.mail import MailSettings
from dropship_common.runtime import ServiceRuntime


class SupplierGatewaySettings(MailSettings):
    cj_base_url: str = Field(
        default="https://developers.cjdropshipping.com",
        description="CJ's API (point it at a fake for tests)",
    )
    supplier_portal_url: str | None = Field(
        default=None,
        description="the portal's public address, for the links e-mailed to portal "
        "suppliers; when set, also the only origin the portal's forms are accepted from "
        "(unset: the request's own scheme and host)",
    )
    portal_session_idle_seconds: float = Field(
        default=1800.0, gt=0, description="a portal session ends after this long unused"
    )
    portal_session_max_seconds: float = Field(
        default=43200.0, gt=0, description="a portal session ends this long after sign-in"
    )
    portal_login_max_failures: int = Field(
        default=10,
        ge=1,
        description="failed portal sign-ins allowed per client IP and per key id in the "
        "window; beyond, 429 with `Retry-After`",
    )
    portal_login_window_seconds: float = Field(
        default=900.0, gt=0, description="the sliding window of the sign-in limit"
    )
    placement_poll_seconds: float = Field(
        default=5.0, description="how often the placement worker looks for due orders"
    )
    placement_batch_size: int = Field(
        default=20, description="supplier orders the placement worker claims at once"
    )
    placement_lease_seconds: float = Field(
        default=120.0, description="a claimed supplier order is tried again after this"
    )
    placement_retry_base_seconds: float = Field(
        default=5.0, description="first wait before a placement is tried again (then doubling)"
    )
    placement_retry_cap_seconds: float = Field(
        default=600.0, description="longest wait between placement attempts"
    )
    placement_max_unsettled_lookups: int = Field(
        default=3,
        ge=1,
        description="attempts in a row that settle nothing (a lookup without a sure "
        "answer, or a call with an unknown outcome the supplier does not show) before a "
        "supplier order becomes `needs_attention`",
    )
    supplier_timeout_seconds: float = Field(
        default=15.0, description="timeout of a call to a supplier"
    )
    supplier_breaker_threshold: int = Field(
        default=5, description="failures in a row that open a supplier host's circuit breaker"
    )
    supplier_breaker_cooldown_seconds: float = Field(
        default=30.0, description="how long an open circuit breaker stops calls"
    )
    supplier_sync_seconds: float = Field(
        default=3600.0,
        description="open CJ / http orders are looked up this often (a lost webhook "
        "still brings the tracking)",
    )
    cj_message_retry_base_seconds: float = Field(
        default=30.0,
        description="a CJ message for an order not known yet is tried again after this "
        "(then doubling)",
    )
    cj_message_retry_cap_seconds: float = Field(
        default=1800.0, description="longest wait between tries of such a CJ message"
    )
    cj_message_match_seconds: float = Field(
        default=86400.0,
        description="a CJ message still unmatched after this long is parked for an operator",
    )

    @model_validator(mode="after")
    def _vendor_urls_we_may_call(self) -> SupplierGatewaySettings:
        problem = url_problem(self.cj_base_url, EgressRules.from_settings(self))
        if problem:
            raise ValueError(f"DROPSHIP_CJ_BASE_URL: {problem}")
        return self


def config_of(rt: ServiceRuntime) -> SupplierGatewaySettings:
    """The running service's settings, typed as supplier-gateway's."""
    return rt.settings.as_config(SupplierGatewaySettings)
